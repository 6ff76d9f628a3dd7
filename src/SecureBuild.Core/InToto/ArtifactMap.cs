using System.Runtime.CompilerServices;
using SecureBuild.Core.Internal;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>
/// The materials or products of a link: artifact path ("/" separated, relative) -> <see cref="HashDict"/>, in the
/// order the paths were added (file order for a link that was read, as Python's dict keeps it; the JSON writers sort).
/// One type for links SecureBuild records and links the verifier reads, tuned for the verifier: positions (rules keep
/// their queue as flags over positions), and an open-addressing table over the positions keeps each path's hash code
/// (the process-randomized string hash, so crafted names cannot force collisions), so a path taken from one map is
/// looked up in another without hashing it again. Every array stays below the large-object threshold for maps of up to ~10,000 artifacts except the paths,
/// and the hash dicts are kept in chunks, so loading big links does not churn the large-object heap.
/// </summary>
public sealed class ArtifactMap : IEnumerable<KeyValuePair<string, HashDict>>
{
    private const int ChunkBits = 11; // 2,048 hash dicts (48 KiB) per chunk
    private const int ChunkSize = 1 << ChunkBits;

    private string[] _paths;
    private int[] _pathHashes;
    private HashDict[][] _hashChunks;
    private int[] _slots; // position + 1 per slot, 0 = empty; length a power of two, at most 3/4 full

    /// <summary>An empty map with room for <paramref name="capacity"/> paths before it grows.</summary>
    public ArtifactMap(int capacity = 0)
    {
        capacity = Math.Max(capacity, 4);
        _paths = new string[capacity];
        _pathHashes = new int[capacity];
        _hashChunks = new HashDict[((capacity - 1) >> ChunkBits) + 1][];
        _slots = new int[SlotCount(capacity)];
    }

    public int Count { get; private set; }

    // Names that are not normalized relative paths: how many, and the first (-1: not counted yet).
    private int _unusualCount = -1;
    private int _firstUnusual = -1;

    /// <summary>Sets what <see cref="UnusualNames"/> returns, when the reader found it while parsing.</summary>
    internal void SetUnusualNames(int count, int first)
    {
        _unusualCount = count;
        _firstUnusual = first;
    }

    /// <summary>How many paths are not normalized relative paths (<see cref="ArtifactPath.IsUnusual(string)"/>), and the first.</summary>
    internal int UnusualNames(out string? first)
    {
        if (_unusualCount < 0)
        {
            int count = 0, at = -1;
            for (int i = 0; i < Count; i++)
            {
                if (ArtifactPath.IsUnusual(_paths[i]))
                {
                    count++;
                    at = at < 0 ? i : at;
                }
            }

            SetUnusualNames(count, at);
        }

        first = _firstUnusual >= 0 ? _paths[_firstUnusual] : null;
        return _unusualCount;
    }

    public IEnumerable<string> Keys
    {
        get
        {
            for (int i = 0; i < Count; i++)
            {
                yield return _paths[i];
            }
        }
    }

    /// <summary>The hash code that lookups of <paramref name="path"/> use (see <see cref="IndexOf(string, int)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int HashOf(string path) => StringComparer.Ordinal.GetHashCode(path);

    private static int SlotCount(int capacity)
    {
        int n = 8;
        while (n - (n >> 2) < capacity)
        {
            n <<= 1;
        }

        return n;
    }

    /// <summary>False when the path is already there (the map is then unchanged).</summary>
    public bool TryAdd(string path, HashDict hash) => TryAdd(path, HashOf(path ?? throw new ArgumentNullException(nameof(path))), hash);

    /// <summary><see cref="TryAdd(string, HashDict)"/> for a path whose <see cref="HashOf"/> is <paramref name="h"/>.</summary>
    [MethodImpl(Jit.AggressiveOptimization)]
    internal bool TryAdd(string path, int h, HashDict hash)
    {
        int mask = _slots.Length - 1;
        int slot = h & mask;
        while (true)
        {
            int e = _slots[slot];
            if (e == 0)
            {
                break;
            }

            if (_pathHashes[e - 1] == h && string.Equals(_paths[e - 1], path))
            {
                return false;
            }

            slot = (slot + 1) & mask;
        }

        if (Count == _paths.Length)
        {
            Grow();
            return TryAdd(path, h, hash);
        }

        int i = Count;
        _paths[i] = path;
        _pathHashes[i] = h;
        var chunk = _hashChunks[i >> ChunkBits] ??= new HashDict[ChunkSize];
        chunk[i & (ChunkSize - 1)] = hash;
        _slots[slot] = i + 1;
        Count = i + 1;
        _unusualCount = -1;
        return true;
    }

    private void Grow()
    {
        int capacity = _paths.Length * 2;
        Array.Resize(ref _paths, capacity);
        Array.Resize(ref _pathHashes, capacity);
        Array.Resize(ref _hashChunks, ((capacity - 1) >> ChunkBits) + 1);
        Rehash();
    }

    private void Rehash()
    {
        _slots = new int[SlotCount(_paths.Length)];
        int mask = _slots.Length - 1;
        for (int i = 0; i < Count; i++)
        {
            int slot = _pathHashes[i] & mask;
            while (_slots[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }

            _slots[slot] = i + 1;
        }
    }

    /// <summary>The artifacts of <paramref name="artifacts"/>, in its order.</summary>
    public static ArtifactMap From(IEnumerable<KeyValuePair<string, IReadOnlyDictionary<string, string>>> artifacts)
    {
        if (artifacts is null)
        {
            throw new ArgumentNullException(nameof(artifacts));
        }

        var map = new ArtifactMap(artifacts is ICollection<KeyValuePair<string, IReadOnlyDictionary<string, string>>> c ? c.Count : 0);
        foreach (var artifact in artifacts)
        {
            map.Add(artifact.Key, HashDict.From(artifact.Value));
        }

        return map;
    }

    /// <summary>A recorder's sorted map (path -> hashes), in its (ordinal) order.</summary>
    public static implicit operator ArtifactMap(SortedDictionary<string, IReadOnlyDictionary<string, string>> artifacts) => From(artifacts);

    /// <summary>The hashes of <paramref name="path"/>; setting adds the path (at the end) or replaces its hashes in place.</summary>
    /// <exception cref="KeyNotFoundException">Getting a path that is not there.</exception>
    public HashDict this[string path]
    {
        get => TryGetValue(path, out var hash) ? hash : throw new KeyNotFoundException($"The artifact '{path}' is not in the map.");
        set
        {
            int i = IndexOf(path ?? throw new ArgumentNullException(nameof(path)));
            if (i < 0)
            {
                Add(path, value);
            }
            else
            {
                _hashChunks[i >> ChunkBits][i & (ChunkSize - 1)] = value;
            }
        }
    }

    /// <summary>The hash dicts, in the order of <see cref="Keys"/>.</summary>
    public IEnumerable<HashDict> Values
    {
        get
        {
            for (int i = 0; i < Count; i++)
            {
                yield return HashAt(i);
            }
        }
    }

    /// <summary>Removes <paramref name="path"/> (the others keep their order); false when it was not there.</summary>
    public bool Remove(string path)
    {
        int at = IndexOf(path ?? throw new ArgumentNullException(nameof(path)));
        if (at < 0)
        {
            return false;
        }

        for (int i = at; i < Count - 1; i++)
        {
            _paths[i] = _paths[i + 1];
            _pathHashes[i] = _pathHashes[i + 1];
            _hashChunks[i >> ChunkBits][i & (ChunkSize - 1)] = HashAt(i + 1);
        }

        Count--;
        _paths[Count] = null!;
        _hashChunks[Count >> ChunkBits][Count & (ChunkSize - 1)] = default;
        _unusualCount = -1;
        Rehash();
        return true;
    }

    /// <exception cref="ArgumentException">The path is already there.</exception>
    public void Add(string path, HashDict hash)
    {
        if (!TryAdd(path, hash))
        {
            throw new ArgumentException($"The artifact '{path}' is already present.", nameof(path));
        }
    }

    internal int IndexOf(string path) => IndexOf(path, HashOf(path));

    /// <summary>The position of <paramref name="path"/>, whose <see cref="HashOf"/> is <paramref name="hash"/>; -1 if absent.</summary>
    [MethodImpl(Jit.AggressiveOptimization)]
    internal int IndexOf(string path, int hash)
    {
        var slots = _slots;
        int mask = slots.Length - 1;
        int slot = hash & mask;
        while (true)
        {
            int e = slots[slot];
            if (e == 0)
            {
                return -1;
            }

            if (_pathHashes[e - 1] == hash && string.Equals(_paths[e - 1], path))
            {
                return e - 1;
            }

            slot = (slot + 1) & mask;
        }
    }

    /// <summary>
    /// <see cref="IndexOf(string, int)"/> that first tries position <paramref name="guess"/> and then sets it to the
    /// position after the one found: walking one map in the order of another with the same paths in the same order
    /// (links that record the same tree) reads both sequentially instead of probing the table.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int IndexOf(string path, int hash, ref int guess)
    {
        int g = guess;
        int at = (uint)g < (uint)Count && _pathHashes[g] == hash && string.Equals(_paths[g], path) ? g : IndexOf(path, hash);
        if (at >= 0)
        {
            guess = at + 1;
        }

        return at;
    }

    internal string PathAt(int i) => _paths[i];

    /// <summary>The hash code of the path at position <paramref name="i"/> (for <see cref="IndexOf(string, int)"/> on other maps).</summary>
    internal int PathHashAt(int i) => _pathHashes[i];

    internal HashDict HashAt(int i) => _hashChunks[i >> ChunkBits][i & (ChunkSize - 1)];

    public bool ContainsKey(string path) => IndexOf(path) >= 0;

    public bool TryGetValue(string path, out HashDict hash)
    {
        int i = IndexOf(path);
        if (i >= 0)
        {
            hash = HashAt(i);
            return true;
        }

        hash = default;
        return false;
    }

    /// <summary>Python dict equality.</summary>
    [MethodImpl(Jit.AggressiveOptimization)]
    internal bool SameAs(ArtifactMap other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (Count != other.Count)
        {
            return false;
        }

        int guess = 0;
        for (int i = 0; i < Count; i++)
        {
            int at = other.IndexOf(_paths[i], _pathHashes[i], ref guess);
            if (at < 0 || !other.HashAt(at).Equals(HashAt(i)))
            {
                return false;
            }
        }

        return true;
    }

    public JsonMap ToJson()
    {
        var o = new JsonMap();
        for (int i = 0; i < Count; i++)
        {
            o.Add(_paths[i], HashAt(i).ToJson());
        }

        return o;
    }

    public IEnumerator<KeyValuePair<string, HashDict>> GetEnumerator()
    {
        for (int i = 0; i < Count; i++)
        {
            yield return new KeyValuePair<string, HashDict>(_paths[i], HashAt(i));
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
