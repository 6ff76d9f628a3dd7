using Microsoft.Build.Framework;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>RecordStepProducts with SecureBuildSigning=keyless: the settings reach Core and its SB codes fail the step.</summary>
public sealed class KeylessSigningTaskTests : TaskTestBase
{
    private RecordStepProducts Step(FakeBuildEngine engine, params ITaskItem[] settings) => SignedCompileStep(engine, settings);

    [Test]
    public void An_unknown_signing_mode_is_SB5050()
    {
        var engine = new FakeBuildEngine();
        Assert.That(Step(engine, Setting("Signing", "sometimes")).Execute(), Is.False);
        Assert.That(engine.Errors.Select(e => e.Code), Is.EqualTo(new[] { "SB5050" }));
        Assert.That(engine.Errors.Single().Message, Does.Contain("SecureBuildSigning 'sometimes'"));
    }

    [Test]
    public void Keyless_without_a_usable_token_fails_the_step_and_writes_no_bundle()
    {
        var engine = new FakeBuildEngine();
        var step = Step(engine, Setting("Signing", "keyless"), Setting("IdentityTokenFile", Dir.Path("no-such-token")), Setting("FulcioUrl", "http://127.0.0.1:9"));
        Assert.That(step.Execute(), Is.False);
        Assert.That(engine.Errors.Select(e => e.Code), Is.EqualTo(new[] { "SB5003" }));
        Assert.That(engine.Errors.Single().Message, Does.StartWith("compile: keyless signing failed: the identity token file"));
        Assert.That(File.Exists(Path.Combine(LinkDir, "compile.provenance.sigstore.json")), Is.False);
    }

    [Test]
    public void Key_signing_is_the_default_and_writes_a_key_hint_bundle()
    {
        var engine = new FakeBuildEngine();
        Assert.That(Step(engine, Setting("Signing", "")).Execute(), Is.True, engine.Log);
        var bundle = Core.Sigstore.SigstoreBundle.Load(Path.Combine(LinkDir, "compile.provenance.sigstore.json"));
        Assert.That(bundle.MaterialKind, Is.EqualTo(Core.Sigstore.VerificationMaterialKind.PublicKey));
    }
}
