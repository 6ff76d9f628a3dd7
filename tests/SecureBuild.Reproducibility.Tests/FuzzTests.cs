using SecureBuild.Core.Reproducibility;
using SecureBuild.Reproducibility.Tests.Infrastructure;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>Corrupted assemblies, PDBs and packages never crash the differ: every comparison ends in a report.</summary>
public sealed class FuzzTests
{
    [Test]
    public void Mutated_inputs_always_give_a_report_with_an_explanation()
    {
        var compiled = Compiler.Compile("/s", "namespace S; public static class C { public static string M() => \"hello\"; }");
        var package = Zips.Create(new[] { ("lib/S.dll", compiled.Dll, Zips.Epoch1), ("S.nuspec", Zips.Text("<package/>"), Zips.Epoch1) });
        var random = new Random(6);
        foreach (var (name, original) in new[] { ("S.dll", compiled.Dll), ("S.pdb", compiled.Pdb), ("S.nupkg", package) })
        {
            for (int i = 0; i < 150; i++)
            {
                var mutated = (byte[])original.Clone();
                int flips = 1 + random.Next(8);
                for (int f = 0; f < flips; f++)
                {
                    mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
                }

                if (random.Next(10) == 0)
                {
                    mutated = mutated.Take(random.Next(mutated.Length)).ToArray();
                }

                DiffReport report = null!;
                Assert.DoesNotThrow(() => report = ArtifactDiffer.CompareContents(name, original, mutated), $"{name} mutation {i}");
                if (!original.AsSpan().SequenceEqual(mutated))
                {
                    Assert.That(report.Differences, Is.Not.Empty, $"{name} mutation {i} differs but nothing was reported");
                }
            }
        }
    }
}
