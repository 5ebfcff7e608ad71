using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Tests.Tensors;

[TestClass]
public sealed class NpyTests
{
    [TestMethod]
    public void Float32_RoundTrips_WithShape()
    {
        var path = Path.GetTempFileName();
        var array = new NdArray<float>([1.5f, -2f, 3.25f, 0f, 7f, 8f], 2, 3);
        Npy.Write(path, array);
        var read = Npy.ReadFloat(path);
        CollectionAssert.AreEqual(array.Shape, read.Shape);
        CollectionAssert.AreEqual(array.Data, read.Data);
        var header = Npy.ReadHeader(path);
        Assert.AreEqual("<f4", header.Descr);
        // numpy requires the data offset to be a multiple of 64.
        Assert.AreEqual(0, (new FileInfo(path).Length - 24) % 64);
    }

    [TestMethod]
    public void Int64_RoundTrips_OneDimensional()
    {
        var path = Path.GetTempFileName();
        Npy.Write(path, new NdArray<long>([3L, -1L, 5L], 3));
        var read = Npy.ReadInt64(path);
        CollectionAssert.AreEqual(new[] { 3 }, read.Shape);
        CollectionAssert.AreEqual(new long[] { 3, -1, 5 }, read.Data);
    }

    [TestMethod]
    public void MissingFile_NamesThePath()
    {
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => Npy.ReadFloat("/nonexistent/x.npy"));
        StringAssert.Contains(e.Message, "/nonexistent/x.npy");
    }

    [TestMethod]
    public void NotNpy_IsRejected()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, "hello world, not numpy");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Npy.ReadFloat(path));
        StringAssert.Contains(e.Message, "not a .npy file");
    }

    [TestMethod]
    [DataRow("(2, -3)", "invalid dimension")]
    [DataRow("(40000, 40000)", "truncated")]
    [DataRow("(99999999999,)", "invalid dimension")]
    public void BadShapesInTheHeader_AreInvalidData_NotCrashesOrHugeAllocations(string shape, string words)
    {
        var path = Path.GetTempFileName();
        string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
        var header = dict.PadRight(118 - 10) + "\n";
        using (var stream = File.Create(path))
        {
            stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
            stream.Write(BitConverter.GetBytes((ushort)header.Length));
            stream.Write(System.Text.Encoding.ASCII.GetBytes(header));
            stream.Write(new byte[16]);
        }
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Npy.ReadFloat(path));
        StringAssert.Contains(e.Message, words);
    }
}
