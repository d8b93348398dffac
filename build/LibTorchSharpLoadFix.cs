// Makes TorchSharp 0.107.0's native bridge load on systems whose libstdc++ predates GLIBCXX_3.4.32 (Debian 12).
//
// libLibTorchSharp.so was built with GCC 13, whose <iostream> plants an undefined reference to
// std::ios_base_library_init() (versioned GLIBCXX_3.4.32) only to force a new-enough runtime. No relocation uses that
// symbol, so nothing ever binds it; the loader refuses the library only because of the version-need entry. Marking that
// entry weak (vna_flags = VER_FLG_WEAK) turns the refusal into nothing, and changes nothing where the version exists.
//
// The edit is made only when every symbol bound to the version is referenced by no relocation: if a later TorchSharp
// really calls a GLIBCXX_3.4.32 function, the library is left alone and the loader's own error stays visible.
//
// This file is compiled twice: by MSBuild as an inline task (build/LibTorchSharpLoadFix.targets, also shipped in the
// Omni.Algebra package so that applications referencing Omni from NuGet get the same fix), and by the behaviour tests
// with OMNI_ELF_TESTS defined. It uses only APIs available to MSBuild's inline-task compiler.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Omni.Build
{
    /// <summary>What <see cref="GlibcxxVersionNeed.MarkWeak"/> did to one file.</summary>
    public enum VersionNeedOutcome
    {
        /// <summary>The version-need entry was strong and is now weak.</summary>
        Patched,
        /// <summary>The entry was weak already (patched before).</summary>
        AlreadyWeak,
        /// <summary>The file does not need the version (or is not a 64-bit little-endian ELF file).</summary>
        NotNeeded,
        /// <summary>A relocation uses a symbol of that version: weakening the need would trade a load error for a crash.</summary>
        SymbolInUse,
    }

    /// <summary>Weakens one GLIBCXX version need of an ELF shared library, in place.</summary>
    public static class GlibcxxVersionNeed
    {
        /// <summary>The version TorchSharp 0.107.0's bridge asks for and Debian 12's libstdc++ lacks.</summary>
        public const string Glibcxx3432 = "GLIBCXX_3.4.32";

        const uint ShtRela = 4, ShtRel = 9, ShtDynsym = 11, ShtVerneed = 0x6ffffffe, ShtVersym = 0x6fffffff;
        const ushort VerFlagWeak = 0x2;

        /// <summary>
        /// Marks <paramref name="version"/>'s version-need entry of <paramref name="path"/> weak. The file is rewritten through a
        /// copy, so a hard link into a package cache is never written through.
        /// </summary>
        public static VersionNeedOutcome MarkWeak(string path, string version = Glibcxx3432)
        {
            var elf = File.ReadAllBytes(path);
            var outcome = Inspect(elf, version, out var flagsOffset);
            if (outcome != VersionNeedOutcome.Patched) return outcome;

            var temporary = path + ".omni-fix.tmp";
            File.Copy(path, temporary, true);   // keeps the file mode
            using (var stream = new FileStream(temporary, FileMode.Open, FileAccess.Write))
            {
                stream.Position = flagsOffset;
                stream.Write(new byte[] { (byte)VerFlagWeak, 0 }, 0, 2);
            }
            File.Delete(path);
            File.Move(temporary, path);
            return VersionNeedOutcome.Patched;
        }

        /// <summary>
        /// Reads what <see cref="MarkWeak"/> would do, without writing. <paramref name="flagsOffset"/> is the file offset of
        /// the entry's two flag bytes (-1 when there is no entry).
        /// </summary>
        public static VersionNeedOutcome Inspect(byte[] elf, string version, out long flagsOffset)
        {
            flagsOffset = -1;
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F'
                || elf[4] != 2 /* 64-bit */ || elf[5] != 1 /* little-endian */)
                return VersionNeedOutcome.NotNeeded;

            var sections = ReadSections(elf);
            var verneed = sections.Find(s => s.Type == ShtVerneed);
            if (verneed == null) return VersionNeedOutcome.NotNeeded;
            var strings = sections[(int)verneed.Link];

            // Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
            // Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
            ushort versionIndex = 0;
            ushort flags = 0;
            long need = verneed.Offset;
            for (uint n = 0; n < verneed.Info && flagsOffset < 0; n++)
            {
                int count = U16(elf, need + 2);
                long aux = need + U32(elf, need + 8);
                for (int a = 0; a < count; a++)
                {
                    if (CString(elf, strings.Offset + U32(elf, aux + 8)) == version)
                    {
                        flagsOffset = aux + 4;
                        flags = U16(elf, aux + 4);
                        versionIndex = U16(elf, aux + 6);
                        break;
                    }
                    aux += U32(elf, aux + 12);
                }
                need += U32(elf, need + 12);
            }
            if (flagsOffset < 0) return VersionNeedOutcome.NotNeeded;
            if ((flags & VerFlagWeak) != 0) return VersionNeedOutcome.AlreadyWeak;
            return UsesVersion(elf, sections, versionIndex) ? VersionNeedOutcome.SymbolInUse : VersionNeedOutcome.Patched;
        }

        // True when a relocation against the dynamic symbol table names a symbol bound to the version index.
        static bool UsesVersion(byte[] elf, List<Section> sections, ushort versionIndex)
        {
            var dynsymIndex = sections.FindIndex(s => s.Type == ShtDynsym);
            var versym = sections.Find(s => s.Type == ShtVersym);
            if (dynsymIndex < 0 || versym == null) return false;
            foreach (var relocations in sections)
            {
                if ((relocations.Type != ShtRela && relocations.Type != ShtRel) || relocations.Link != dynsymIndex) continue;
                long entrySize = relocations.Type == ShtRela ? 24 : 16;
                for (long at = relocations.Offset; at + entrySize <= relocations.Offset + relocations.Size; at += entrySize)
                {
                    var symbol = (long)(U64(elf, at + 8) >> 32);
                    if (symbol != 0 && (U16(elf, versym.Offset + 2 * symbol) & 0x7fff) == versionIndex) return true;
                }
            }
            return false;
        }

        sealed class Section
        {
            public uint Type, Link, Info;
            public long Offset, Size;
        }

        static List<Section> ReadSections(byte[] elf)
        {
            long table = (long)U64(elf, 0x28);
            int entrySize = U16(elf, 0x3a), count = U16(elf, 0x3c);
            var sections = new List<Section>(count);
            for (int i = 0; i < count; i++)
            {
                long at = table + (long)i * entrySize;
                sections.Add(new Section
                {
                    Type = U32(elf, at + 4), Offset = (long)U64(elf, at + 24), Size = (long)U64(elf, at + 32),
                    Link = U32(elf, at + 40), Info = U32(elf, at + 44),
                });
            }
            return sections;
        }

        static ushort U16(byte[] b, long at) => BitConverter.ToUInt16(b, checked((int)at));
        static uint U32(byte[] b, long at) => BitConverter.ToUInt32(b, checked((int)at));
        static ulong U64(byte[] b, long at) => BitConverter.ToUInt64(b, checked((int)at));

        static string CString(byte[] b, long at)
        {
            int start = checked((int)at), end = start;
            while (end < b.Length && b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, start, end - start);
        }
    }
}

#if !OMNI_ELF_TESTS
namespace Omni.Build
{
    /// <summary>MSBuild task: applies <see cref="GlibcxxVersionNeed.MarkWeak"/> to the given copies of libLibTorchSharp.so.</summary>
    public sealed class OmniMakeLibTorchSharpLoadable : Microsoft.Build.Utilities.Task
    {
        /// <summary>The output copies to fix (never a package cache's own file).</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; }

        /// <inheritdoc />
        public override bool Execute()
        {
            foreach (var item in Files)
            {
                var path = item.ItemSpec;
                if (!File.Exists(path)) continue;
                var outcome = GlibcxxVersionNeed.MarkWeak(path);
                if (outcome == VersionNeedOutcome.Patched)
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                        "Omni: marked the " + GlibcxxVersionNeed.Glibcxx3432 + " need of " + path + " weak, so it loads with an older libstdc++ (Debian 12).");
                else if (outcome == VersionNeedOutcome.SymbolInUse)
                    Log.LogWarning("Omni: " + path + " calls a " + GlibcxxVersionNeed.Glibcxx3432
                        + " function, so it was left unchanged; it loads only where libstdc++ provides that version (GCC 13 or newer).");
            }
            return !Log.HasLoggedErrors;
        }
    }
}
#endif
