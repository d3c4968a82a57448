/**
 * Bridges protoc-gen-es service descriptors to @grpc/grpc-js: one place turns a generated
 * `GenService` into the grpc-js ServiceDefinition (paths, streaming flags, binary codecs),
 * so the client and the Teleport stand-in speak exactly the same wire format.
 */
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

export type GrpcDefinition<T extends GenServiceMethods> = {
  [K in keyof T]: MethodDefinition<MessageShape<T[K]["input"]>, MessageShape<T[K]["output"]>>;
};

function codec<D extends DescMessage>(schema: D) {
  return {
    serialize: (message: MessageShape<D>): Buffer => Buffer.from(toBinary(schema, message)),
    deserialize: (bytes: Buffer): MessageShape<D> => fromBinary(schema, bytes),
  };
}

/** Builds the grpc-js definition; keys are the generated camelCase method names. */
export function grpcDefinition<T extends GenServiceMethods>(service: GenService<T>): GrpcDefinition<T> {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    const input = codec(method.input);
    const output = codec(method.output);
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: input.serialize as (m: unknown) => Buffer,
      requestDeserialize: input.deserialize,
      responseSerialize: output.serialize as (m: unknown) => Buffer,
      responseDeserialize: output.deserialize,
      originalName: method.name,
    };
  }
  return definition as GrpcDefinition<T>;
}

export type AsServiceDefinition<T extends GenServiceMethods> = GrpcDefinition<T> & ServiceDefinition;
