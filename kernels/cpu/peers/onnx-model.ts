/**
 * The smallest ONNX model a depthwise-conv peer needs, built in code: one Conv node with
 * group = C, a K×K kernel, stride 1, "same" padding, the weights as an initializer (as in a real
 * network). Serialised with protobufjs from the needed subset of onnx.proto (field numbers as in
 * onnx/onnx.proto, IR version 8, opset 17).
 */
import protobuf from 'protobufjs';

const ONNX_SUBSET = `
syntax = "proto3";
package onnx;
message AttributeProto { string name = 1; int64 i = 3; repeated int64 ints = 8; int32 type = 20; }
message TensorProto { repeated int64 dims = 1; int32 data_type = 2; repeated float float_data = 4 [packed = true]; string name = 8; }
message Dimension { int64 dim_value = 1; }
message TensorShapeProto { repeated Dimension dim = 1; }
message TypeTensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
message TypeProto { TypeTensor tensor_type = 1; }
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto { repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4; repeated AttributeProto attribute = 5; }
message GraphProto { repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message ModelProto { int64 ir_version = 1; string producer_name = 2; GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8; }
`;

const FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

let modelType: protobuf.Type | undefined;

/** Serialised ModelProto: Y = Conv(X, weights), X and Y float32 [N, C, H, W]. */
export function depthwiseConvModel(N: number, C: number, H: number, W: number, K: number, weights: Float32Array): Uint8Array {
  if (weights.length !== C * K * K) throw new Error(`depthwise weights: ${weights.length} values, expected C·K·K = ${C * K * K}`);
  modelType ??= protobuf.parse(ONNX_SUBSET, { keepCase: true }).root.lookupType('onnx.ModelProto');
  const pad = Math.floor((K - 1) / 2);
  const tensorType = { tensor_type: { elem_type: FLOAT, shape: { dim: [N, C, H, W].map((d) => ({ dim_value: d })) } } };
  const model = {
    ir_version: 8,
    producer_name: 'neotune',
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'depthwise_conv',
      node: [
        {
          name: 'dwconv',
          op_type: 'Conv',
          input: ['x', 'w'],
          output: ['y'],
          attribute: [
            { name: 'group', type: ATTR_INT, i: C },
            { name: 'kernel_shape', type: ATTR_INTS, ints: [K, K] },
            // "same" for odd K; even K pads one less at the end, like the reference.
            { name: 'pads', type: ATTR_INTS, ints: [pad, pad, K - 1 - pad, K - 1 - pad] },
            { name: 'strides', type: ATTR_INTS, ints: [1, 1] },
          ],
        },
      ],
      initializer: [{ name: 'w', dims: [C, 1, K, K], data_type: FLOAT, float_data: Array.from(weights) }],
      input: [{ name: 'x', type: tensorType }],
      output: [{ name: 'y', type: tensorType }],
    },
  };
  const err = modelType.verify(model);
  if (err) throw new Error(`ONNX model: ${err}`);
  return modelType.encode(modelType.fromObject(model)).finish();
}
