using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;

namespace SecureBuild.Core.Tests;

/// <summary>
/// Issue #14, single-use workers: provenance names the runner kind and hashes of the machine and boot ids (never the
/// ids), and <see cref="WorkerIdentity.Of"/> reads them back for compare's one-worker check.
/// </summary>
public sealed class WorkerIdentityTests
{
    private const string MachineId = "0123456789abcdef0123456789abcdef";

    [TestCase("github-hosted", "github-hosted")]
    [TestCase("self-hosted", "self-hosted")]
    [TestCase(null, "github-unknown")]
    public void A_GitHub_runner_is_named_hosted_or_self_hosted(string? runnerEnvironment, string runner)
    {
        var environment = new Dictionary<string, string> { ["GITHUB_ACTIONS"] = "true" };
        if (runnerEnvironment is not null)
        {
            environment["RUNNER_ENVIRONMENT"] = runnerEnvironment;
        }

        var worker = WorkerIdentity.Describe(environment, CiContext.Detect(environment), _ => null);
        Assert.That(((JsonString)worker["runner"]).Value, Is.EqualTo(runner));
        Assert.That(worker.ContainsKey("machine") || worker.ContainsKey("boot"), Is.False, "no id file, no hash");
    }

    [Test]
    public void The_machine_and_boot_are_recorded_as_hashes_and_read_back()
    {
        var files = new Dictionary<string, string> { ["/etc/machine-id"] = MachineId + "\n", ["/proc/sys/kernel/random/boot_id"] = "b-1\n" };
        var environment = new Dictionary<string, string> { ["TEKTON_TASK_RUN"] = "build-x" };
        var worker = WorkerIdentity.Describe(environment, CiContext.Detect(environment), p => files.TryGetValue(p, out var text) ? text : null);
        Assert.That(((JsonString)worker["runner"]).Value, Is.EqualTo("tekton-pod"));
        var machine = ((JsonString)worker["machine"]).Value;
        Assert.That(machine, Does.StartWith("sha256:").And.Not.Contain(MachineId));
        Assert.That(machine, Is.Not.EqualTo(((JsonString)worker["boot"]).Value));

        var predicate = new JsonMap { ["buildDefinition"] = new JsonMap { ["internalParameters"] = new JsonMap { ["worker"] = worker } } };
        Assert.That(WorkerIdentity.Of(predicate), Is.EqualTo(machine + "/" + ((JsonString)worker["boot"]).Value));
        files["/proc/sys/kernel/random/boot_id"] = "b-2";
        var rebooted = WorkerIdentity.Describe(environment, CiContext.Detect(environment), p => files.TryGetValue(p, out var text) ? text : null);
        Assert.That(((JsonString)rebooted["machine"]).Value, Is.EqualTo(machine));
        Assert.That(((JsonString)rebooted["boot"]).Value, Is.Not.EqualTo(((JsonString)worker["boot"]).Value));
        Assert.That(WorkerIdentity.Of(new JsonMap()), Is.Null);
    }

    [Test]
    public void On_this_machine_the_real_files_are_read()
    {
        var worker = WorkerIdentity.Describe(new Dictionary<string, string>(), CiContext.Detect(new Dictionary<string, string>()));
        Assert.That(((JsonString)worker["runner"]).Value, Is.EqualTo("local"));
        if (File.Exists("/proc/sys/kernel/random/boot_id"))
        {
            Assert.That(((JsonString)worker["boot"]).Value, Does.StartWith("sha256:"), "procfs reports a size of 0; the file is read all the same");
        }
    }
}
