using Microsoft.ML.Attribution.Onnx.Proto;

namespace Microsoft.ML.Attribution.Onnx;

internal static partial class ShapeInference
{
    private sealed partial class State
    {
        /// <summary>Split and other data-movement ops not handled in the main switch. Returns false for other ops.</summary>
        private bool VisitTensorOps(NodeProto node, TensorType x) => false;
    }
}
