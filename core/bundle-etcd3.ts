// An esbuild plugin for bundles that include the `etcd3` client (the wrapper,
// the bench's contender): etcd3 loads its gRPC service definitions from
// `${__dirname}/../proto/rpc.proto` when it is first imported, and a bundle
// has neither __dirname (ESM) nor the .proto files. At build time the protos
// are parsed (protobufjs, as @grpc/proto-loader does, keepCase) and their JSON
// descriptor is put in the bundle, loaded with proto-loader's fromJSON and
// the very options etcd3 passes.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'esbuild';

const LOAD_CALL = '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`,';

interface ProtobufRoot {
  loadSync(file: string, options: { keepCase: boolean }): ProtobufRoot;
  toJSON(): unknown;
}

export const etcd3ProtosPlugin: Plugin = {
  name: 'etcd3-protos',
  setup(build) {
    build.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(LOAD_CALL)) throw new Error(`${args.path}: etcd3 no longer loads its protos as this plugin expects: update core/bundle-etcd3.ts`);
      // protobufjs as proto-loader resolves it (etcd3's own dependency tree).
      const fromLoader = createRequire(createRequire(args.path).resolve('@grpc/proto-loader'));
      const protobuf = fromLoader('protobufjs') as { Root: new () => ProtobufRoot };
      const json = new protobuf.Root().loadSync(join(dirname(args.path), '../proto/rpc.proto'), { keepCase: true }).toJSON();
      return { contents: source.replace(LOAD_CALL, `(0, proto_loader_1.fromJSON)(${JSON.stringify(json)},`), loader: 'js' };
    });
  },
};
