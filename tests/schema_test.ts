/**
 * `gateway.schema.json` is generated from the same effect Schema that
 * validates `gateway.json`; this fails when the committed file is stale.
 */
import assert from "node:assert/strict";
import { GatewayConfigFile } from "../src/config/schema.ts";
import { schemaPath, schemaText } from "../scripts/schema.ts";

Deno.test("the committed gateway.schema.json is what `deno task schema` generates now", async () => {
  const committed = await Deno.readTextFile(schemaPath);
  assert.ok(
    committed === schemaText(),
    "gateway.schema.json is stale: run `deno task schema` and commit the result",
  );
});

Deno.test("the JSON Schema names every config key and requires only providers", () => {
  const schema = JSON.parse(schemaText());
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.equal(schema.type, "object");
  assert.deepEqual(Object.keys(schema.properties).sort(), Object.keys(GatewayConfigFile.fields).sort());
  assert.deepEqual(schema.required, ["providers"]);
  assert.deepEqual(schema.properties.log_level.enum, ["debug", "info", "warn", "error", "silent"]);
});
