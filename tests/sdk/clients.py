"""Drives airlock with the official OpenAI and Anthropic Python SDKs.

Usage: python clients.py BASE_URL SECRET
BASE_URL is airlock's http://host:port. The upstream behind it answers as the providers do
(the x-test-emulate header asks it to). Prints one JSON object with what each SDK parsed;
any SDK error is an exception and a non-zero exit.
"""
import json
import sys

import anthropic
import openai

base, secret = sys.argv[1], sys.argv[2]
emulate = {"x-test-emulate": "1", "x-airlock-agent": "sdk-test"}
tools_openai = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
tools_anthropic = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
prompt = f"Weather in Paris? (my key is {secret})"
out = {}

claude = anthropic.Anthropic(base_url=f"{base}/anthropic", api_key="sk-dummy", default_headers=emulate, max_retries=0)
msg = claude.messages.create(model="claude-sonnet-4-5", max_tokens=64, tools=tools_anthropic,
                             messages=[{"role": "user", "content": prompt}])
out["anthropic"] = {"text": msg.content[0].text, "tool": msg.content[1].name, "input": msg.content[1].input,
                    "output_tokens": msg.usage.output_tokens}
with claude.messages.stream(model="claude-sonnet-4-5", max_tokens=64, tools=tools_anthropic,
                            messages=[{"role": "user", "content": prompt}]) as stream:
    texts = [t for t in stream.text_stream]
    final = stream.get_final_message()
out["anthropic_stream"] = {"deltas": texts, "tool": final.content[1].name, "input": final.content[1].input,
                           "output_tokens": final.usage.output_tokens}

gpt = openai.OpenAI(base_url=f"{base}/openai/v1", api_key="sk-dummy", default_headers=emulate, max_retries=0)
chat = gpt.chat.completions.create(model="gpt-4o", tools=tools_openai, messages=[{"role": "user", "content": prompt}])
call = chat.choices[0].message.tool_calls[0]
out["chat"] = {"text": chat.choices[0].message.content, "tool": call.function.name,
               "arguments": json.loads(call.function.arguments), "total_tokens": chat.usage.total_tokens}
text, arguments, name, usage = "", "", None, None
for chunk in gpt.chat.completions.create(model="gpt-4o", tools=tools_openai, stream=True,
                                         stream_options={"include_usage": True},
                                         messages=[{"role": "user", "content": prompt}]):
    if chunk.usage:
        usage = chunk.usage.total_tokens
    for choice in chunk.choices:
        text += choice.delta.content or ""
        for tc in choice.delta.tool_calls or []:
            name = tc.function.name or name
            arguments += tc.function.arguments or ""
out["chat_stream"] = {"text": text, "tool": name, "arguments": json.loads(arguments), "total_tokens": usage}

# Without include_usage: airlock asks for usage upstream (to meter it) and takes the extra
# chunk out again, so the client sees exactly what it asked for.
text, usage_chunks, empty = "", 0, 0
for chunk in gpt.chat.completions.create(model="gpt-4o", stream=True, messages=[{"role": "user", "content": prompt}]):
    usage_chunks += 1 if chunk.usage else 0
    empty += 0 if chunk.choices else 1
    for choice in chunk.choices:
        text += choice.delta.content or ""
out["chat_stream_plain"] = {"text": text, "usage_chunks": usage_chunks, "empty_choices": empty}

resp = gpt.responses.create(model="gpt-5", input=prompt)
out["responses"] = {"text": resp.output_text, "output_tokens": resp.usage.output_tokens}
deltas, completed = [], None
for event in gpt.responses.create(model="gpt-5", input=prompt, stream=True):
    if event.type == "response.output_text.delta":
        deltas.append(event.delta)
    if event.type == "response.completed":
        completed = event.response
out["responses_stream"] = {"deltas": deltas, "text": completed.output_text, "output_tokens": completed.usage.output_tokens}

print(json.dumps(out))
