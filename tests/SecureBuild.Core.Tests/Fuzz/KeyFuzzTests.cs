using SecureBuild.Core.Crypto;
using SecureBuild.Testing.Fuzz;

namespace SecureBuild.Core.Tests.Fuzz;

/// <summary>
/// Mutated key files (PEM: RSA, ECDSA, Ed25519, public and private; securesystemslib JSON, public and private) are
/// either refused with <see cref="KeyFormatException"/> (an SB100x code and a fix) or give a key that signs and
/// verifies; no other exception escapes. Corpus: Fuzz/corpus/keys (test-only keys, never used to sign anything real).
/// </summary>
[TestFixture]
public class KeyFuzzTests
{
    private const int Iterations = 400;

    [Test]
    public void Mutated_keys_are_refused_with_a_key_error_or_work()
    {
        var data = new byte[] { 1, 2, 3 };
        var problems = FuzzRun.Run("keys", FuzzRun.Corpus("keys"), Iterations, Mutator.Pem, bytes =>
        {
            string text;
            try
            {
                text = KeyReader.DecodeText(bytes, "mutated");
            }
            catch (KeyFormatException e)
            {
                return Coded(e);
            }

            try
            {
                var key = SigningKey.Parse(text, "mutated");
                if (!key.Public.Verify(data, key.Sign(data)))
                {
                    return "a key that parsed does not verify its own signature";
                }
            }
            catch (KeyFormatException e)
            {
                if (Coded(e) is { } problem)
                {
                    return problem;
                }
            }

            try
            {
                PublicKey.Parse(text, "mutated").Verify(data, new byte[64]);
            }
            catch (KeyFormatException e)
            {
                return Coded(e);
            }

            return null;
        });
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    [Test]
    public void Mutated_json_keys_are_refused_with_a_key_error_or_work()
    {
        var corpus = FuzzRun.Corpus("keys").Where(c => c.Name.EndsWith(".json", StringComparison.Ordinal));
        var problems = FuzzRun.Run("json-keys", corpus, Iterations, Mutator.Json, bytes =>
        {
            try
            {
                PublicKey.Parse(KeyReader.DecodeText(bytes, "mutated"), "mutated");
                return null;
            }
            catch (KeyFormatException e)
            {
                return Coded(e);
            }
        });
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    private static string? Coded(KeyFormatException e) =>
        e.Code.StartsWith("SB100", StringComparison.Ordinal) && e.Message.Length > 0 && e.Fix.Length > 0 ? null : $"key error without code or fix: {e.Code} {e.Message}";
}
