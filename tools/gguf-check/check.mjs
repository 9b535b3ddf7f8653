// Reads a GGUF file with @huggingface/gguf, a reader independent of cptquant, and prints what it saw
// as JSON: every metadata key with its GGUF value type and value (arrays summarised by element type
// and length, since tokenizer arrays can be huge), the data-section offset, the file size and every
// tensor's name, shape (ne[0] first), ggml type name and offset. Usage: node check.mjs FILE.gguf
import { stat } from "node:fs/promises";
import { gguf, GGUFValueType, GGMLQuantizationType } from "@huggingface/gguf";

const file = process.argv[2];
if (!file) {
  console.error("usage: node check.mjs FILE.gguf");
  process.exit(2);
}

// BigInt (uint64/int64 values, shapes, offsets) is not JSON; values above 2^53 stay exact as strings.
const plain = (v) =>
  typeof v === "bigint" ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v;

const { typedMetadata, tensorInfos, tensorDataOffset } = await gguf(file, {
  allowLocalFile: true,
  typedMetadata: true,
});

const metadata = {};
for (const [key, { value, type, subType }] of Object.entries(typedMetadata)) {
  metadata[key] =
    type === GGUFValueType.ARRAY
      ? {
          type: GGUFValueType[type],
          subType: GGUFValueType[subType],
          length: value.length,
          first: value.length > 0 ? plain(value[0]) : null,
        }
      : { type: GGUFValueType[type], value: plain(value) };
}

console.log(
  JSON.stringify(
    {
      fileSize: (await stat(file)).size,
      tensorDataOffset: plain(tensorDataOffset),
      metadata,
      tensorInfos: tensorInfos.map((t) => ({
        name: t.name,
        shape: t.shape.map(plain),
        dtype: GGMLQuantizationType[t.dtype],
        offset: plain(t.offset),
      })),
    },
    null,
    1,
  ),
);
