global using Xunit;
global using Omni.Tests;
