// Runs a GGUF file in llama.cpp (node-llama-cpp's prebuilt CPU build, never compiled here) and prints
// JSON. One thread: llama.cpp threads spin while waiting, which is slow on a shared machine. Usage:
//   node check.mjs generate FILE.gguf PROMPT N   -> {"prompt": [bos, ...ids], "generated": [N greedy ids]}
//   node check.mjs embed FILE.gguf TEXT...       -> [{"text", "tokens", "vector"}] (the model's pooled embedding)
import { getLlama } from "node-llama-cpp";

const [mode, file, ...rest] = process.argv.slice(2);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath: file });

if (mode === "generate") {
  const [prompt, n] = rest;
  const context = await model.createContext({ contextSize: 512, threads: 1 });
  const tokens = [model.tokens.bos, ...model.tokenize(prompt)];
  const generated = [];
  for await (const t of context.getSequence().evaluate(tokens, { temperature: 0 })) {
    generated.push(t);
    if (generated.length >= Number(n)) break;
  }
  console.log(JSON.stringify({ prompt: tokens, generated }));
} else if (mode === "embed") {
  const context = await model.createEmbeddingContext({ threads: 1 });
  const out = [];
  for (const text of rest) {
    const e = await context.getEmbeddingFor(text);
    out.push({ text, tokens: model.tokenize(text), vector: Array.from(e.vector) });
  }
  console.log(JSON.stringify(out));
} else {
  console.error("usage: node check.mjs generate FILE PROMPT N | embed FILE TEXT...");
  process.exit(2);
}
