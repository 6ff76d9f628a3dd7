using System.Globalization;
using System.Text;

namespace SecureBuild.Core.Processes;

/// <summary>
/// Text that keeps its first and last <c>limit / 2</c> characters and counts what it drops between them, so a child
/// that writes gigabytes costs a few megabytes. Thread-safe.
/// </summary>
internal sealed class BoundedText
{
    private readonly int _half;
    private readonly StringBuilder _head = new();
    private readonly StringBuilder _tail = new();
    private long _droppedFromTail;

    public BoundedText(int limit)
    {
        _half = Math.Max(0, limit) / 2;
    }

    /// <summary>Characters appended but not kept.</summary>
    public long Dropped
    {
        get
        {
            lock (_tail)
            {
                return _droppedFromTail + Math.Max(0, _tail.Length - _half);
            }
        }
    }

    public void AppendLine(string line)
    {
        lock (_tail)
        {
            Append(line);
            Append("\n");
        }
    }

    public override string ToString()
    {
        lock (_tail)
        {
            long dropped = Dropped;
            var text = new StringBuilder(_head.Length + _half + 160).Append(_head);
            if (dropped > 0)
            {
                text.Append(string.Format(CultureInfo.InvariantCulture,
                    "\n[SB2800: {0:N0} characters of output were dropped here; only the first and the last {1:N0} are kept]\n", dropped, _half));
            }

            int skip = Math.Max(0, _tail.Length - _half);
            return text.Append(_tail.ToString(skip, _tail.Length - skip)).ToString();
        }
    }

    private void Append(string s)
    {
        int start = 0;
        if (_head.Length < _half)
        {
            start = Math.Min(s.Length, _half - _head.Length);
            _head.Append(s, 0, start);
        }

        if (start == s.Length)
        {
            return;
        }

        _tail.Append(s, start, s.Length - start);
        if (_tail.Length > 2 * Math.Max(_half, 4096))
        {
            // Cut back to the last _half characters: amortized, every character is moved at most once more.
            int cut = _tail.Length - _half;
            _tail.Remove(0, cut);
            _droppedFromTail += cut;
        }
    }
}
