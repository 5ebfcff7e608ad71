using Microsoft.ML.Attribution.Onnx.Proto;

namespace Microsoft.ML.Attribution.Onnx;

internal static partial class ShapeInference
{
    private sealed partial class State
    {
        /// <summary>Conv, ConvTranspose, pooling, BatchNormalization, Pad, Resize. Returns false for other ops.</summary>
        private bool VisitSpatial(NodeProto node, TensorType x) => false;
    }
}
