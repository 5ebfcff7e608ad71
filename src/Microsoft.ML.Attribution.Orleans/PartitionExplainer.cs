using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Orleans;

/// <summary>What explaining one partition left behind: its part file, row range and checksum.</summary>
[GenerateSerializer, Immutable]
public sealed record PartResult(
    [property: Id(0)] int Partition,
    [property: Id(1)] long FirstRow,
    [property: Id(2)] int Rows,
    [property: Id(3)] string File,
    [property: Id(4)] string Sha256,
    [property: Id(5)] bool Reused);

/// <summary>The rows of a job cut into partitions of <see cref="ExplanationJob.PartitionRows"/> rows (the last one shorter).</summary>
public static class PartitionPlan
{
    /// <summary>Partitions of a table of <paramref name="totalRows"/> rows.</summary>
    public static int Count(long totalRows, int partitionRows) => checked((int)((totalRows + partitionRows - 1) / partitionRows));

    /// <summary>First row and row count of partition <paramref name="partition"/>.</summary>
    public static (long FirstRow, int Rows) Range(long totalRows, int partitionRows, int partition)
    {
        long first = (long)partition * partitionRows;
        if (partition < 0 || first >= totalRows) throw new ArgumentOutOfRangeException(nameof(partition), $"Partition {partition} is past the {totalRows} rows.");
        return (first, (int)Math.Min(partitionRows, totalRows - first));
    }

    /// <summary>File name of a partition's part.</summary>
    public static string PartName(int partition) => $"part-{partition:D5}.parquet";
}

/// <summary>
/// Explains one partition of a job with the single-process engine (the registry's method, the model loaded once per
/// process) and writes its part. The cluster's workers and <see cref="LocalJobRunner"/> both run exactly this, so a
/// partition's output does not depend on where it ran.
/// </summary>
public static class PartitionExplainer
{
    /// <summary>
    /// Explains partition <paramref name="partition"/> of <paramref name="job"/> (a table of <paramref name="totalRows"/>
    /// rows) and writes its part; a part already in place is kept (its partition finished before a restart).
    /// </summary>
    /// <exception cref="InvalidDataException">A row holds a non-finite value (named by row and column).</exception>
    public static async Task<PartResult> ExplainAsync(ExplanationJob job, long totalRows, int partition, ExplanationModels models,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(models);
        var (firstRow, rows) = PartitionPlan.Range(totalRows, job.PartitionRows, partition);
        string name = PartitionPlan.PartName(partition);
        string path = Path.Combine(job.OutputPath, name);
        if (File.Exists(path))
        {
            long written = await ParquetTables.CountRowsAsync(path, cancellation);
            if (written == rows) return new PartResult(partition, firstRow, rows, name, ExplanationJob.HashFile(path), Reused: true);
        }
        var features = job.FeatureColumns ?? (await ParquetTables.DescribeAsync(job.InputPath, cancellation)).NumericColumns;
        var data = await ParquetTables.ReadRowsAsync(job.InputPath, features, firstRow, rows, cancellation);
        for (int i = 0; i < data.Length; i++)
        {
            if (!float.IsFinite(data[i]))
                throw new InvalidDataException($"Row {firstRow + i / features.Count}, column '{features[i % features.Count]}' is {data[i]}: " +
                    $"method '{job.Method}' cannot explain non-finite input.");
        }
        cancellation.ThrowIfCancellationRequested();
        var method = MethodRegistry.Get(job.Method);
        var options = PartitionSeeds.ForPartition(job.ReadOptions(), partition, job.Seed);
        var model = models.Get(job);
        var context = model.Inputs();
        var result = method.Attribute(new MethodInputs
        {
            Model = context.Model,
            Trees = context.Trees,
            Rows = new NdArray<float>(data, rows, features.Count),
            Target = job.Target is int t ? Target.Class(t) : null,
            InternalBatchSize = job.InternalBatchSize,
        }, options);
        if (result.Attributions.Rows != rows)
            throw new InvalidOperationException($"Method '{job.Method}' returned {result.Attributions.Rows} rows for partition {partition} of {rows}.");
        string sha = await ParquetTables.WritePartAsync(path, firstRow, features, result, cancellation);
        return new PartResult(partition, firstRow, rows, name, sha, Reused: false);
    }
}
