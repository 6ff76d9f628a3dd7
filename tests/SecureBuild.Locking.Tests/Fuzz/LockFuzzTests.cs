using System.Text;
using System.Text.RegularExpressions;
using SecureBuild.Core.Locking;
using SecureBuild.Testing.Fuzz;

namespace SecureBuild.Locking.Tests.Fuzz;

/// <summary>
/// Mutated lock files are refused with <see cref="LockFormatException"/> (SB1400/SB1401 at the boundary) and nothing
/// else. A mutation almost always breaks the lock's own digest, which would stop the parser before the schema; so each
/// mutation is also parsed again with its digest re-stamped, to reach every member's reader.
/// </summary>
public sealed class LockFuzzTests
{
    private static readonly Regex ContentDigest = new("content is (sha256:[0-9a-f]{64})", RegexOptions.CultureInvariant);

    [Test]
    public void Mutated_locks_only_throw_the_lock_format_exception()
    {
        var problems = FuzzRun.Run("lock", FuzzRun.Corpus("lock"), 600, Mutator.Json, bytes =>
        {
            try
            {
                LockFile.Parse(bytes, "mutated.lock.json");
                return null;
            }
            catch (LockFormatException e) when (e.Problem == LockFormatProblem.DigestMismatch)
            {
                var text = Encoding.UTF8.GetString(bytes);
                var restamped = Regex.Replace(text, "\"digest\": \"[^\"]*\"", "\"digest\": \"" + ContentDigest.Match(e.Message).Groups[1].Value + "\"");
                try
                {
                    LockFile.Parse(Encoding.UTF8.GetBytes(restamped), "mutated.lock.json");
                }
                catch (LockFormatException)
                {
                }

                return null;
            }
            catch (LockFormatException)
            {
                return null;
            }
        });
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }
}
