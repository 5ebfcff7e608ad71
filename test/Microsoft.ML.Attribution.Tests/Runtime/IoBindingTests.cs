using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Attribution.Tests.Runtime;

/// <summary>
/// ONNX Runtime I/O binding: outputs written into caller memory, buffers reused across chunks, and the staging path CUDA
/// sessions take (page-locked tensors), exercised here over the CPU allocator up to where the CPU package stops.
/// </summary>
[TestClass]
public sealed class IoBindingTests
{
    private static bool CudaAvailable => OnnxSession.AvailableProviders().Contains("CUDAExecutionProvider");

    private static FixtureCase Resnet => Fixtures.Case("zoo_resnet_gradcam");

    private static OnnxSession ForwardSession(RuntimeOptions options) =>
        OnnxSession.Get(File.ReadAllBytes(Resnet.ModelPath), options);

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void RunInto_WritesIntoTheGivenWindow_AndNothingElse(bool stage)
    {
        var session = ForwardSession(new RuntimeOptions { Stage = stage });
        var images = Resnet.Input;
        var expected = session.Run([NamedInput.Of(session.InputNames[0], images)], [session.OutputNames[0]])[0];

        var buffer = Enumerable.Repeat(-7f, 5 + expected.Length + 3).ToArray();
        session.RunInto([NamedInput.Of(session.InputNames[0], images)],
            [new NamedOutput(session.OutputNames[0], buffer.AsMemory(5, expected.Length), expected.Shape)]);

        CollectionAssert.AreEqual(expected.Data, buffer[5..^3]);
        Assert.IsTrue(buffer[..5].All(v => v == -7f) && buffer[^3..].All(v => v == -7f), "values outside the window were written");
    }

    [TestMethod]
    public void RunInto_ReadsAnInputWindowAtItsOffset()
    {
        var session = ForwardSession(RuntimeOptions.Default);
        var images = Resnet.Input;
        int rowSize = images.RowSize;
        var second = new NdArray<float>(images.Data[rowSize..(2 * rowSize)], [1, .. images.RowShape]);
        var expected = session.Run([NamedInput.Of(session.InputNames[0], second)], [session.OutputNames[0]])[0];

        var output = new float[expected.Length];
        session.RunInto([new NamedInput(session.InputNames[0], images.Data, [1, .. images.RowShape]) { Offset = rowSize }],
            [new NamedOutput(session.OutputNames[0], output, expected.Shape)]);

        CollectionAssert.AreEqual(expected.Data, output);
    }

    [TestMethod]
    public void RunInto_TooSmallDestination_NamesTheOutput()
    {
        var session = ForwardSession(RuntimeOptions.Default);
        var images = Resnet.Input;
        var e = Assert.ThrowsExactly<ArgumentException>(() => session.RunInto([NamedInput.Of(session.InputNames[0], images)],
            [new NamedOutput(session.OutputNames[0], new float[10], [images.Rows, 10])]));
        StringAssert.Contains(e.Message, $"'{session.OutputNames[0]}'");
        StringAssert.Contains(e.Message, $"[{images.Rows}, 10]");
    }

    [TestMethod]
    public void RunInto_WrongBoundShape_NamesTheOutputAndShape()
    {
        var session = ForwardSession(RuntimeOptions.Default);
        var images = Resnet.Input;
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => session.RunInto([NamedInput.Of(session.InputNames[0], images)],
            [new NamedOutput(session.OutputNames[0], new float[images.Rows * 11], [images.Rows, 11])]));
        StringAssert.Contains(e.Message, $"'{session.OutputNames[0]}' [{images.Rows}, 11]");
    }

    [TestMethod]
    public void Staging_ReusesOneTensorPerNameAndShape_AndCopiesTheValues()
    {
        var session = ForwardSession(new RuntimeOptions { Stage = true });
        using var staging = StagingBuffers.For(session.Session, ExecutionDevice.Cpu, 0);
        var first = staging.Input(new NamedInput("x", new float[] { 9, 1, 2, 3, 4 }, [2, 2]) { Offset = 1 });
        var again = staging.Input(new NamedInput("x", new float[] { 5, 6, 7, 8 }, [2, 2]));
        var other = staging.Input(new NamedInput("x", new float[] { 1, 2 }, [1, 2]));

        Assert.AreSame(first, again, "same name and shape: the staged tensor is reused");
        Assert.AreNotSame(first, other);
        CollectionAssert.AreEqual(new float[] { 5, 6, 7, 8 }, again.GetTensorDataAsSpan<float>().ToArray());
        Assert.AreEqual(2, staging.Count);
    }

    [TestMethod]
    public void StagedAndUnstagedRuns_GiveTheSameAttributions_OverSeveralChunks()
    {
        var c = Resnet;
        var direct = new IntegratedGradients(new OnnxGradientOracle(c.ModelPath)).Attribute(c.Input, target: c.Target, steps: 20, internalBatchSize: 7);
        var staged = new IntegratedGradients(new OnnxGradientOracle(c.ModelPath, options: new RuntimeOptions { Stage = true }))
            .Attribute(c.Input, target: c.Target, steps: 20, internalBatchSize: 7);
        CollectionAssert.AreEqual(direct.Attributions.Data, staged.Attributions.Data);

        var cam = new LayerGradCam(new OnnxLayerOracle(c.ModelPath, c.String("layer")!, options: new RuntimeOptions { Stage = true }))
            .Attribute(c.Input, c.Target, reluAttributions: true, internalBatchSize: 1);
        AssertArrays.Close(c.Expected, cam.Attributions, 1e-4, "staged Grad-CAM");
    }

    [TestMethod]
    public void CudaStaging_OnTheCpuPackage_StopsWithAClearMessage()
    {
        if (CudaAvailable) Assert.Inconclusive("This ONNX Runtime build has CUDA; the CPU package's limit cannot be shown here.");
        var memory = StagingBuffers.MemoryFor(ExecutionDevice.Cuda, 1);
        Assert.AreEqual("CudaPinned", memory.Name);
        Assert.AreEqual(1, (int)memory.Id);
        Assert.AreEqual(OrtMemType.CpuOutput, memory.GetMemoryType());

        var session = ForwardSession(RuntimeOptions.Default);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => StagingBuffers.For(session.Session, ExecutionDevice.Cuda, 1));
        StringAssert.Contains(e.Message, "CudaPinned");
        StringAssert.Contains(e.Message, "CUDA execution provider");
    }

    [TestMethod]
    public void CudaSession_StagesThroughPinnedMemory_AndMatchesCaptum()
    {
        if (!CudaAvailable) Assert.Inconclusive("No CUDAExecutionProvider in this ONNX Runtime build (CPU package); needs Microsoft.ML.OnnxRuntime.Gpu and a GPU.");
        var c = Resnet;
        var oracle = new OnnxLayerOracle(c.ModelPath, c.String("layer")!, options: new RuntimeOptions { Device = ExecutionDevice.Cuda });
        var cam = new LayerGradCam(oracle).Attribute(c.Input, c.Target, reluAttributions: true);
        AssertArrays.Close(c.Expected, cam.Attributions, 1e-4, "Grad-CAM on CUDA");
        Assert.IsTrue(ForwardSession(new RuntimeOptions { Device = ExecutionDevice.Cuda }).Stages);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void ConcurrentCallers_OnOneOracle_GetTheirOwnBindingsAndBuffers(bool stage)
    {
        var c = Resnet;
        var oracle = new OnnxGradientOracle(c.ModelPath, options: new RuntimeOptions { Stage = stage });
        var layer = new OnnxLayerOracle(c.ModelPath, c.String("layer")!, options: new RuntimeOptions { Stage = stage });
        var expected = new IntegratedGradients(oracle).Attribute(c.Input, target: c.Target, steps: 8, internalBatchSize: 5);
        var expectedCam = new LayerGradCam(layer).Attribute(c.Input, c.Target, reluAttributions: true, internalBatchSize: 1);

        var results = new (AttributionResult Ig, AttributionResult Cam)[6];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 6 }, k =>
            results[k] = (new IntegratedGradients(oracle).Attribute(c.Input, target: c.Target, steps: 8, internalBatchSize: 5),
                new LayerGradCam(layer).Attribute(c.Input, c.Target, reluAttributions: true, internalBatchSize: 1)));

        foreach (var (ig, cam) in results)
        {
            CollectionAssert.AreEqual(expected.Attributions.Data, ig.Attributions.Data);
            CollectionAssert.AreEqual(expectedCam.Attributions.Data, cam.Attributions.Data);
        }
    }
}
