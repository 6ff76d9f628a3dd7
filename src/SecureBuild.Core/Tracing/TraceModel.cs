using System;
using System.Collections.Generic;

namespace SecureBuild.Core.Tracing;

// The runtime trace of one command: what its process tree actually did. The tracer (Linux: ptrace with a seccomp-bpf
// prefilter) produces a TraceLog; attribution (which MSBuild project/target/task caused an event), the policy and the
// runtime-trace attestation all read this one model. Times are UTC. Paths are absolute as the tracee saw them
// (resolved against its working directory); the attestation names them machine independently, as the links do.

/// <summary>What a process did to a file.</summary>
public enum FileAccessKind
{
    /// <summary>Opened for reading only.</summary>
    Read,

    /// <summary>Opened for writing (an existing file).</summary>
    Write,

    /// <summary>Created (O_CREAT on a path that did not exist, or mkdir).</summary>
    Create,

    /// <summary>Unlinked (unlink, unlinkat, rmdir).</summary>
    Delete,

    /// <summary>Renamed; the new name is <see cref="TracedFileAccess.RenamedTo"/>.</summary>
    Rename,

    /// <summary>Executed (execve of this path).</summary>
    Execute,
}

/// <summary>What a process did on the network.</summary>
public enum NetworkOperation
{
    Connect,
    Bind,
    SendTo,
}

/// <summary>One process of the traced tree.</summary>
/// <param name="Pid">The process id (thread group id).</param>
/// <param name="ParentPid">The process that started it (0 for the traced command itself).</param>
/// <param name="Executable">The absolute path of the program it last executed (empty if it never executed one).</param>
/// <param name="ExecutableSha256">Lower-case hex SHA-256 of that program as it was at exec, or null when it could not be read.</param>
/// <param name="Arguments">argv of the last exec.</param>
/// <param name="WorkingDirectory">The working directory at the last exec.</param>
/// <param name="Start">When the process was created (fork/clone seen).</param>
/// <param name="Exit">When it exited, or null if the trace ended first.</param>
/// <param name="ExitCode">Its exit code when it exited normally.</param>
/// <param name="Signal">The name of the signal that killed it (e.g. "SIGKILL"), when it was killed.</param>
public sealed record TracedProcess(
    int Pid,
    int ParentPid,
    string Executable,
    string? ExecutableSha256,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    DateTimeOffset Start,
    DateTimeOffset? Exit,
    int? ExitCode,
    string? Signal);

/// <summary>One file operation that succeeded.</summary>
/// <param name="Pid">The process that did it.</param>
/// <param name="Time">When the system call returned.</param>
/// <param name="Kind">What was done.</param>
/// <param name="Path">The absolute path as the process saw it.</param>
/// <param name="Sha256">
/// Lower-case hex SHA-256 of the content the process saw: for reads, hashed at the first open; for writes and creates,
/// after the last write (when the file is closed or the process exits); null for deletes, directories, special files,
/// or when the file was gone before it could be hashed (then counted in <see cref="TraceLog.UnhashedFiles"/>).
/// </param>
/// <param name="RenamedTo">The new path, for <see cref="FileAccessKind.Rename"/>.</param>
public sealed record TracedFileAccess(
    int Pid,
    DateTimeOffset Time,
    FileAccessKind Kind,
    string Path,
    string? Sha256,
    string? RenamedTo = null);

/// <summary>One network operation (whether or not it succeeded: an attempt is what a policy cares about).</summary>
/// <param name="Pid">The process that did it.</param>
/// <param name="Time">When the system call returned.</param>
/// <param name="Operation">connect, bind or sendto (sendto/sendmsg with an address, e.g. DNS over UDP).</param>
/// <param name="Family">"inet", "inet6" or "unix".</param>
/// <param name="Address">The IP address, or the socket path for unix sockets.</param>
/// <param name="Port">The port (0 for unix sockets).</param>
/// <param name="Succeeded">The system call returned success (a non-blocking connect in progress counts as attempted, not succeeded).</param>
public sealed record TracedNetworkOperation(
    int Pid,
    DateTimeOffset Time,
    NetworkOperation Operation,
    string Family,
    string Address,
    int Port,
    bool Succeeded);

/// <summary>The whole trace of one command.</summary>
public sealed record TraceLog(
    IReadOnlyList<string> Command,
    string WorkingDirectory,
    DateTimeOffset Start,
    DateTimeOffset End,
    int? ExitCode,
    string? Signal,
    IReadOnlyList<TracedProcess> Processes,
    IReadOnlyList<TracedFileAccess> Files,
    IReadOnlyList<TracedNetworkOperation> Network)
{
    /// <summary>Events the tracer saw but could not record (e.g. a path it could not read from the tracee). Reported, never silent.</summary>
    public long DroppedEvents { get; init; }

    /// <summary>Files that were opened or written but could not be hashed (gone, unreadable, too large to hash in time).</summary>
    public long UnhashedFiles { get; init; }

    /// <summary>What did the tracing, e.g. "securebuild ptrace+seccomp-bpf", with its version.</summary>
    public string Monitor { get; init; } = "";
}
