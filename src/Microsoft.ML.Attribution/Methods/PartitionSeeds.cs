using System.Reflection;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Seeds of a partitioned run: the rows are cut into partitions, and each partition's random draws derive from the run's
/// seed and the partition's index only. Whoever explains a partition (this process, another thread, another machine)
/// draws the same numbers, so a partitioned run gives the same result wherever its partitions run.
/// </summary>
public static class PartitionSeeds
{
    /// <summary>The seed of partition <paramref name="partition"/> of a run seeded with <paramref name="seed"/>.</summary>
    /// <remarks>SplitMix64's finaliser over (seed, partition): neighbouring partitions get unrelated seeds.</remarks>
    public static int Derive(int seed, int partition)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ulong z = ((ulong)(uint)seed << 32 | (uint)partition) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }

    /// <summary>
    /// <paramref name="options"/> with its seed replaced by partition <paramref name="partition"/>'s seed, derived from
    /// <paramref name="seed"/> (null: the options' own seed); options of methods that draw nothing come back unchanged.
    /// </summary>
    public static MethodOptions ForPartition(MethodOptions options, int partition, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options is not ISeededOptions seeded) return options;
        // A record's copy (what `with` does), then its init-only Seed set: every other setting, nested ones included, is kept.
        var type = options.GetType();
        var copy = (MethodOptions)type.GetMethod("<Clone>$", BindingFlags.Public | BindingFlags.Instance)!.Invoke(options, null)!;
        type.GetProperty(nameof(ISeededOptions.Seed))!.SetValue(copy, Derive(seed ?? seeded.Seed, partition));
        return copy;
    }
}
