// Calls the example API through a Connect endpoint with @connectrpc/connect-node, the services
// and messages read at run time from a descriptor set (no generated code), and prints one JSON
// line per call: what the call answered, or the Connect error it raised.
//
//   node client.mjs <base URL> <descriptor set>
import { readFileSync } from "node:fs";
import { create, createFileRegistry, fromBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";

const [baseUrl, setPath] = process.argv.slice(2);
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(setPath)));
const libraryService = registry.getService("library.v1.LibraryService");
const debugService = registry.getService("library.v1.DebugService");

function clients(options) {
  const transport = createConnectTransport({ baseUrl, httpVersion: "1.1", ...options });
  return [createClient(libraryService, transport), createClient(debugService, transport)];
}

async function report(name, call) {
  try {
    const value = await call();
    console.log(JSON.stringify({ name, ok: true, value }));
  } catch (error) {
    const e = ConnectError.from(error);
    console.log(
      JSON.stringify({
        name,
        ok: false,
        code: Code[e.code],
        message: e.rawMessage,
        details: e.details.map((detail) => detail.desc?.typeName ?? detail.type),
      }),
    );
  }
}

function json(method, message) {
  return toJson(method.output, message, { registry });
}

for (const [format, options] of [
  ["json", { useBinaryFormat: false }],
  ["proto", { useBinaryFormat: true }],
]) {
  const [library, debug] = clients(options);
  const method = (service, name) => service.methods.find((m) => m.name === name);
  const getShelf = method(libraryService, "GetShelf");
  const stream = method(debugService, "Stream");
  const info = method(libraryService, "GetLibraryInfo");

  await report(`${format} unary`, async () =>
    json(getShelf, await library.getShelf(create(getShelf.input, { name: "shelves/fiction" }))),
  );
  await report(`${format} not found`, () =>
    library.getShelf(create(getShelf.input, { name: "shelves/none" })),
  );
  await report(`${format} failure with details`, () =>
    debug.fail(create(method(debugService, "Fail").input, { code: 9, message: "on purpose" })),
  );
  await report(`${format} stream`, async () => {
    const items = [];
    for await (const item of debug.stream(create(stream.input, { count: 3 }))) {
      items.push(item.index);
    }
    return items;
  });
  await report(`${format} stream failing`, async () => {
    const items = [];
    try {
      const request = create(stream.input, { count: 5, failAfter: 2, failCode: 14 });
      for await (const item of debug.stream(request)) {
        items.push(item.index);
      }
    } catch (error) {
      const e = ConnectError.from(error);
      return { items, code: Code[e.code], message: e.rawMessage };
    }
    return { items };
  });
  const [getter] = clients({ ...options, useHttpGet: true });
  await report(`${format} get`, async () =>
    json(info, await getter.getLibraryInfo(create(info.input, {}))),
  );
}
