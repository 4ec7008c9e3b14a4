// Drives airlock with the official OpenAI and Anthropic TypeScript SDKs on Node (the runtime
// OpenClaw itself runs on; their HTTP client is Node's fetch, not Python's httpx).
//
// Usage: node clients.mjs BASE_URL SECRET
// Same requests and same printed object as clients.py, so the test checks both alike; any SDK
// error is an exception and a non-zero exit.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

const [base, secret] = process.argv.slice(2);
const emulate = { "x-test-emulate": "1", "x-airlock-agent": "sdk-test" };
const toolsOpenai = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
const toolsAnthropic = [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }];
const prompt = `Weather in Paris? (my key is ${secret})`;
const messages = [{ role: "user", content: prompt }];
const out = {};

const claude = new Anthropic({ baseURL: `${base}/anthropic`, apiKey: "sk-dummy", defaultHeaders: emulate, maxRetries: 0 });
const msg = await claude.messages.create({ model: "claude-sonnet-4-5", max_tokens: 64, tools: toolsAnthropic, messages });
out.anthropic = { text: msg.content[0].text, tool: msg.content[1].name, input: msg.content[1].input, output_tokens: msg.usage.output_tokens };
const stream = claude.messages.stream({ model: "claude-sonnet-4-5", max_tokens: 64, tools: toolsAnthropic, messages });
const texts = [];
stream.on("text", (t) => texts.push(t));
const final = await stream.finalMessage();
out.anthropic_stream = { deltas: texts, tool: final.content[1].name, input: final.content[1].input, output_tokens: final.usage.output_tokens };

const gpt = new OpenAI({ baseURL: `${base}/openai/v1`, apiKey: "sk-dummy", defaultHeaders: emulate, maxRetries: 0 });
const chat = await gpt.chat.completions.create({ model: "gpt-4o", tools: toolsOpenai, messages });
const call = chat.choices[0].message.tool_calls[0];
out.chat = { text: chat.choices[0].message.content, tool: call.function.name, arguments: JSON.parse(call.function.arguments), total_tokens: chat.usage.total_tokens };

let text = "", args = "", name = null, usage = null;
for await (const chunk of await gpt.chat.completions.create({ model: "gpt-4o", tools: toolsOpenai, stream: true, stream_options: { include_usage: true }, messages })) {
  if (chunk.usage) usage = chunk.usage.total_tokens;
  for (const choice of chunk.choices) {
    text += choice.delta.content ?? "";
    for (const tc of choice.delta.tool_calls ?? []) {
      name = tc.function?.name ?? name;
      args += tc.function?.arguments ?? "";
    }
  }
}
out.chat_stream = { text, tool: name, arguments: JSON.parse(args), total_tokens: usage };

// Without include_usage: airlock asks for usage upstream and takes the extra chunk out again.
let plain = "", usageChunks = 0, empty = 0;
for await (const chunk of await gpt.chat.completions.create({ model: "gpt-4o", stream: true, messages })) {
  if (chunk.usage) usageChunks += 1;
  if (chunk.choices.length === 0) empty += 1;
  for (const choice of chunk.choices) plain += choice.delta.content ?? "";
}
out.chat_stream_plain = { text: plain, usage_chunks: usageChunks, empty_choices: empty };

const resp = await gpt.responses.create({ model: "gpt-5", input: prompt });
out.responses = { text: resp.output_text, output_tokens: resp.usage.output_tokens };
const deltas = [];
let completed = null;
for await (const event of await gpt.responses.create({ model: "gpt-5", input: prompt, stream: true })) {
  if (event.type === "response.output_text.delta") deltas.push(event.delta);
  if (event.type === "response.completed") completed = event.response;
}
// The SDK adds `output_text` to the responses it returns, not to the one inside an event.
const completedText = completed.output
  .flatMap((item) => item.content ?? [])
  .filter((part) => part.type === "output_text")
  .map((part) => part.text)
  .join("");
out.responses_stream = { deltas, text: completedText, output_tokens: completed.usage.output_tokens };

console.log(JSON.stringify(out));
