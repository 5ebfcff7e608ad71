using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Runtime;

[TestClass]
[DoNotParallelize]
public sealed class SessionCacheTests
{
    [TestMethod]
    public void Cache_StaysBounded_KeepsTheRecentSession_AndHoldersKeepWorking()
    {
        var c = Fixtures.Case("toy_ig_gausslegendre");
        var bytes = File.ReadAllBytes(c.ModelPath);
        var held = new OnnxGradientOracle(c.ModelPath, options: new RuntimeOptions { IntraOpThreads = 1, InterOpThreads = 1000 });
        var before = new IntegratedGradients(held).Attribute(c.Input, target: Target.Class(0));

        OnnxSession? last = null;
        for (int i = 0; i < OnnxSession.MaxCachedSessions + 8; i++)
            last = OnnxSession.Get(bytes, new RuntimeOptions { IntraOpThreads = 1, InterOpThreads = 1001 + i });

        Assert.IsLessThanOrEqualTo(OnnxSession.MaxCachedSessions, OnnxSession.CachedCount);
        Assert.AreSame(last, OnnxSession.Get(bytes, new RuntimeOptions { IntraOpThreads = 1, InterOpThreads = 1000 + OnnxSession.MaxCachedSessions + 8 }));
        // The first oracle's sessions were dropped from the cache, not disposed: it still runs.
        var after = new IntegratedGradients(held).Attribute(c.Input, target: Target.Class(0));
        CollectionAssert.AreEqual(before.Attributions.Data, after.Attributions.Data);
    }
}
