namespace Microsoft.ML.Attribution.Methods;

/// <summary>Seeded random draws shared by the sampling methods (same seed → same numbers).</summary>
internal static class RandomDraws
{
    public static Random Create(int? seed) => seed is int s ? new Random(s) : new Random();

    /// <summary><paramref name="count"/> draws from N(0, stdev²) (Box–Muller).</summary>
    public static float[] Normal(Random random, int count, double stdev)
    {
        var result = new float[count];
        if (stdev == 0) return result;
        for (int i = 0; i < count; i += 2)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            double radius = Math.Sqrt(-2.0 * Math.Log(u1)) * stdev;
            result[i] = (float)(radius * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < count) result[i + 1] = (float)(radius * Math.Sin(2 * Math.PI * u2));
        }
        return result;
    }
}
