using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;

namespace Microsoft.ML.Attribution.Tests.Support;

/// <summary>Builds small ONNX models by hand for tests.</summary>
internal sealed class TestGraph
{
    private readonly ModelProto _model;
    private int _counter;

    public TestGraph(int opset = 13, int elemType = OnnxDataType.Double)
    {
        ElemType = elemType;
        _model = new ModelProto { IrVersion = opset >= 13 ? 7 : 6, ProducerName = "tests", Graph = new GraphProto { Name = "test" } };
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
    }

    public int ElemType { get; }

    /// <summary>Adds an input; a string dim is symbolic, an int dim is fixed.</summary>
    public TestGraph Input(string name, params object[] dims) => TypedInput(name, ElemType, dims);

    public TestGraph TypedInput(string name, int elemType, params object[] dims)
    {
        _model.Graph.Input.Add(ValueInfo(name, elemType, dims));
        return this;
    }

    public TestGraph Output(string name)
    {
        _model.Graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = ElemType } } });
        return this;
    }

    public string Weight(double[] values, params long[] dims)
    {
        string name = $"w{_counter++}";
        _model.Graph.Initializer.Add(TensorProtos.FromDouble(name, ElemType, values, dims));
        return name;
    }

    public string Int64s(params long[] values)
    {
        string name = $"i{_counter++}";
        _model.Graph.Initializer.Add(TensorProtos.FromInt64(name, values, values.Length));
        return name;
    }

    public string Random(Random random, params long[] dims) =>
        Weight(Enumerable.Range(0, (int)dims.Aggregate(1L, (a, b) => a * b)).Select(_ => random.NextDouble() * 2 - 1).ToArray(), dims);

    public string Node(string opType, string[] inputs, params AttributeProto[] attributes) =>
        Nodes(opType, inputs, 1, attributes)[0];

    public string[] Nodes(string opType, string[] inputs, int outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_counter}" };
        node.Input.AddRange(inputs);
        var names = Enumerable.Range(0, outputs).Select(i => $"{opType.ToLowerInvariant()}{_counter}_{i}").ToArray();
        _counter++;
        node.Output.AddRange(names);
        node.Attribute.AddRange(attributes);
        _model.Graph.Node.Add(node);
        return names;
    }

    public OnnxModel Build() => new(_model.Clone());

    private static ValueInfoProto ValueInfo(string name, int elemType, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (d is string s) dim.DimParam = s;
            else dim.DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture);
            shape.Dim.Add(dim);
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } } };
    }
}
