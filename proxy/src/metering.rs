//! Token metering: reading usage out of provider responses as they stream past.
//!
//! A [`MeteredBody`] wraps the upstream's response body and hands every frame to the client
//! unchanged and at once; a copy of the bytes feeds a parser that understands the three
//! wire formats airlock fronts:
//! - Anthropic messages: `message_start` carries the model and the input side (input,
//!   cache-creation, cache-read tokens); each `message_delta` carries *cumulative* counts,
//!   so the last one seen replaces, never adds to, what came before;
//! - OpenAI chat completions: a chunk (or the whole response) with a `usage` object
//!   (`prompt_tokens`, `completion_tokens`, `prompt_tokens_details.cached_tokens`);
//! - OpenAI responses: `response.completed` with `response.usage` (`input_tokens`,
//!   `output_tokens`, `input_tokens_details.cached_tokens`).
//!
//! Non-streamed JSON responses are parsed whole (up to a size limit). When the stream ends,
//! or the client goes away mid-stream, the usage seen so far is sent once to the meter's
//! channel. Only counts and model names leave this module, never content.

use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Frame, SizeHint};
use memchr::memmem::Finder;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Non-streamed responses larger than this are relayed but not metered.
const MAX_JSON: usize = 8 << 20;
/// An SSE event longer than this is skipped by the parser (still relayed).
const MAX_EVENT: usize = 1 << 20;
/// Only events that name a usage are parsed.
static USAGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"usage\""));

/// Token counts of one response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Who sent the request.
    pub agent: String,
    /// Which upstream answered.
    pub upstream: String,
    /// The model the provider reports (empty when it did not say).
    pub model: String,
    /// Prompt tokens billed at the normal rate.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    pub cache_creation_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    pub cache_read_tokens: u64,
}

impl Usage {
    /// Whether the response reported anything.
    pub fn is_empty(&self) -> bool {
        self.input_tokens == 0
            && self.output_tokens == 0
            && self.cache_creation_tokens == 0
            && self.cache_read_tokens == 0
    }
}

/// Where finished records go (the binary writes them to the usage store).
pub type Meter = tokio::sync::mpsc::UnboundedSender<Usage>;

enum Format {
    EventStream {
        pending: BytesMut,
        /// The client did not ask for the usage chunk airlock asked for on its behalf: relay
        /// whole events and leave that one out.
        strip_usage_chunk: bool,
    },
    Json {
        body: BytesMut,
        too_big: bool,
    },
    Other,
}

/// A response body that reports its token usage when it ends or is dropped.
pub(crate) struct MeteredBody<B> {
    inner: B,
    format: Format,
    usage: Usage,
    meter: Option<Meter>,
    metrics: Option<std::sync::Arc<crate::Metrics>>,
}

impl<B> MeteredBody<B> {
    pub(crate) fn new(
        inner: B,
        content_type: Option<&str>,
        usage: Usage,
        meter: Meter,
        strip_usage_chunk: bool,
        metrics: std::sync::Arc<crate::Metrics>,
    ) -> Self {
        let content_type = content_type.unwrap_or("").to_ascii_lowercase();
        let format = if content_type.starts_with("text/event-stream") {
            Format::EventStream {
                pending: BytesMut::new(),
                strip_usage_chunk,
            }
        } else if content_type.starts_with("application/json") {
            Format::Json {
                body: BytesMut::new(),
                too_big: false,
            }
        } else {
            Format::Other
        };
        MeteredBody {
            inner,
            format,
            usage,
            meter: Some(meter),
            metrics: Some(metrics),
        }
    }

    /// Reads `data` for usage. Returns the bytes to relay instead of `data` when events are
    /// being filtered (whole events only, the injected usage chunk left out).
    fn observe(&mut self, data: &Bytes) -> Option<Bytes> {
        match &mut self.format {
            Format::EventStream {
                pending,
                strip_usage_chunk,
            } => {
                pending.extend_from_slice(data);
                let mut relay = strip_usage_chunk.then(BytesMut::new);
                // Events end with a blank line; `\r\n` line ends are allowed by the spec.
                while let Some(end) = event_end(pending) {
                    let event = pending.split_to(end.0 + end.1);
                    let mut usage_only = false;
                    if event.len() <= MAX_EVENT {
                        for line in event[..end.0].split(|&b| b == b'\n') {
                            let line = line.strip_suffix(b"\r").unwrap_or(line);
                            if let Some(data) = line.strip_prefix(b"data:") {
                                // Only events that carry usage are worth parsing: most are
                                // content deltas, and a relay must not spend its time on them.
                                if USAGE.find(data).is_none() {
                                    continue;
                                }
                                if let Some(event) = Members::parse(data) {
                                    read_usage(&event, &mut self.usage);
                                    usage_only |= is_usage_chunk(&event);
                                }
                            }
                        }
                    }
                    if let Some(relay) = &mut relay {
                        if !usage_only {
                            relay.extend_from_slice(&event);
                        }
                    }
                }
                if relay.is_none() && pending.len() > MAX_EVENT {
                    pending.clear();
                }
                relay.map(BytesMut::freeze)
            }
            Format::Json { body, too_big } => {
                if body.len() + data.len() > MAX_JSON {
                    *too_big = true;
                    body.clear();
                } else if !*too_big {
                    body.extend_from_slice(data);
                }
                None
            }
            Format::Other => None,
        }
    }

    /// Bytes held back at the end of a filtered stream (an unterminated last event).
    fn leftover(&mut self) -> Option<Bytes> {
        match &mut self.format {
            Format::EventStream {
                pending,
                strip_usage_chunk: true,
            } if !pending.is_empty() => Some(pending.split().freeze()),
            _ => None,
        }
    }

    fn finish(&mut self) {
        if let Format::Json {
            body,
            too_big: false,
        } = &self.format
        {
            if let Some(response) = Members::parse(body) {
                read_usage(&response, &mut self.usage);
            }
        }
        if let Some(meter) = self.meter.take() {
            if !self.usage.is_empty() {
                if let Some(metrics) = &self.metrics {
                    metrics.tokens(&self.usage);
                }
                let _ = meter.send(std::mem::take(&mut self.usage));
            }
        }
    }
}

/// The end of the first complete event in `buf`: (where its text ends, length of the
/// blank-line separator).
fn event_end(buf: &[u8]) -> Option<(usize, usize)> {
    static LF: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\n\n"));
    static CRLF: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\r\n\r\n"));
    let lf = LF.find(buf).map(|i| (i, 2));
    // A CRLF end before the LF one starts before it: no need to search past that.
    let before = lf.map_or(buf.len(), |(i, _)| buf.len().min(i + 3));
    let crlf = CRLF.find(&buf[..before]).map(|i| (i, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// OpenAI's closing chunk for `stream_options.include_usage`: no choices, only usage.
fn is_usage_chunk(event: &Members<'_>) -> bool {
    text(event.object).as_deref() == Some("chat.completion.chunk")
        && event
            .choices
            .and_then(|c| serde_json::from_str::<Vec<IgnoredAny>>(c.get()).ok())
            .is_some_and(|c| c.is_empty())
        && event.usage.is_some_and(is_object)
}

/// Asks an OpenAI chat completion stream for its usage chunk when the client did not: adds
/// `"stream_options":{"include_usage":true}` to the request body. Returns the new body, or
/// `None` when nothing needs to change (not streamed, already asked for, not a JSON object).
///
/// Only the top level is parsed (nested values stay unparsed slices of the body): requests
/// run to tens of kilobytes, and this runs on every one of them.
pub(crate) fn ask_for_usage(body: &[u8]) -> Option<Bytes> {
    // Most requests are settled without parsing: no `stream` key, or an `include_usage` key
    // already there (OpenClaw sends one). Inside a JSON string a quote is escaped, so
    // `"include_usage"` with both quotes bare is a key, never message text.
    // Built once: a searcher costs more to build than a scan of a chat request.
    static STREAM: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"stream\""));
    static INCLUDE_USAGE: LazyLock<Finder<'static>> =
        LazyLock::new(|| Finder::new(b"\"include_usage\""));
    STREAM.find(body)?;
    if INCLUDE_USAGE.find(body).is_some() {
        return None;
    }
    let top: std::collections::HashMap<String, &serde_json::value::RawValue> =
        serde_json::from_slice(body).ok()?;
    if top.get("stream").map(|v| v.get()) != Some("true") {
        return None;
    }
    match top.get("stream_options") {
        // The common case: a member put in front; the rest of the body is left as it came.
        None => {
            let open = body.iter().position(|b| !b.is_ascii_whitespace())?;
            let mut out = Vec::with_capacity(body.len() + 40);
            out.extend_from_slice(&body[..=open]);
            out.extend_from_slice(br#""stream_options":{"include_usage":true},"#);
            out.extend_from_slice(&body[open + 1..]);
            Some(Bytes::from(out))
        }
        Some(options) => {
            let mut options: serde_json::Map<String, Value> =
                serde_json::from_str(options.get()).ok()?;
            if options.contains_key("include_usage") {
                return None;
            }
            options.insert("include_usage".into(), Value::Bool(true));
            // Rare (options without include_usage): rebuilt whole.
            let mut request: serde_json::Map<String, Value> = serde_json::from_slice(body).ok()?;
            request.insert("stream_options".into(), Value::Object(options));
            serde_json::to_vec(&request).ok().map(Bytes::from)
        }
    }
}

/// The members usage is read from, in an event, a whole response, or the `message` /
/// `response` inside one. Every other member is skipped without being parsed: a response's
/// `choices` or `output` can run to megabytes, and building a tree of them cost more than
/// the rest of the relay's work on a small response.
#[derive(Deserialize)]
struct Members<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    model: Option<&'a RawValue>,
    #[serde(borrow, default)]
    usage: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    #[serde(borrow, default)]
    response: Option<&'a RawValue>,
    #[serde(borrow, default)]
    object: Option<&'a RawValue>,
    #[serde(borrow, default)]
    choices: Option<&'a RawValue>,
}

impl<'a> Members<'a> {
    /// The members of a JSON object; `None` for anything else.
    fn parse(json: &'a [u8]) -> Option<Self> {
        let json = json.trim_ascii();
        if json.first() != Some(&b'{') {
            return None;
        }
        serde_json::from_slice(json).ok()
    }

    fn of(raw: Option<&'a RawValue>) -> Option<Self> {
        raw.and_then(|raw| Members::parse(raw.get().as_bytes()))
    }
}

/// A usage report: counts under Anthropic's and both OpenAI APIs' names.
#[derive(Deserialize)]
struct Report<'a> {
    #[serde(borrow, default)]
    input_tokens: Option<&'a RawValue>,
    #[serde(borrow, default)]
    output_tokens: Option<&'a RawValue>,
    #[serde(borrow, default)]
    cache_creation_input_tokens: Option<&'a RawValue>,
    #[serde(borrow, default)]
    cache_read_input_tokens: Option<&'a RawValue>,
    #[serde(borrow, default)]
    prompt_tokens: Option<&'a RawValue>,
    #[serde(borrow, default)]
    completion_tokens: Option<&'a RawValue>,
    #[serde(borrow, default)]
    prompt_tokens_details: Option<&'a RawValue>,
    #[serde(borrow, default)]
    input_tokens_details: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Details<'a> {
    #[serde(borrow, default)]
    cached_tokens: Option<&'a RawValue>,
}

fn is_object(raw: &RawValue) -> bool {
    raw.get().starts_with('{')
}

/// A count: a non-negative integer, anything else is no count.
fn count(raw: Option<&RawValue>) -> Option<u64> {
    raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
}

/// A string member's text; anything else is no text.
fn text(raw: Option<&RawValue>) -> Option<std::borrow::Cow<'_, str>> {
    let raw = raw?.get();
    match serde_json::from_str::<&str>(raw) {
        Ok(borrowed) => Some(borrowed.into()),
        // Escapes inside: only an owned string can hold the text.
        Err(_) => serde_json::from_str::<String>(raw).ok().map(Into::into),
    }
}

fn cached_tokens(details: Option<&RawValue>) -> Option<u64> {
    let details = details.filter(|d| is_object(d))?;
    count(
        serde_json::from_str::<Details<'_>>(details.get())
            .ok()?
            .cached_tokens,
    )
}

/// Folds whatever usage `event` carries into `usage`. Counts in one response are cumulative
/// (Anthropic repeats and grows them), so a count replaces the earlier one.
fn read_usage(event: &Members<'_>, usage: &mut Usage) {
    // The model and the counts of the message or response an event carries.
    let carried = |raw| Members::of(raw).map_or((None, None), |m| (m.model, m.usage));
    let (model, report) = match text(event.kind).as_deref().unwrap_or("") {
        // Anthropic streaming: the message (model, input side) then deltas (output side).
        "message_start" => carried(event.message),
        "message_delta" => (None, event.usage),
        // OpenAI responses: the final event holds the whole response.
        "response.completed" | "response.incomplete" | "response.failed" => carried(event.response),
        // Whole JSON responses (Anthropic message, chat completion, response object) and
        // chat completion chunks.
        _ => (event.model, event.usage),
    };
    if let Some(model) = text(model) {
        usage.model = model.into_owned();
    }
    let Some(report) = report
        .filter(|r| is_object(r))
        .and_then(|r| serde_json::from_str::<Report<'_>>(r.get()).ok())
    else {
        return;
    };
    // Anthropic names.
    if let Some(n) = count(report.input_tokens) {
        usage.input_tokens = n;
    }
    if let Some(n) = count(report.output_tokens) {
        usage.output_tokens = n;
    }
    if let Some(n) = count(report.cache_creation_input_tokens) {
        usage.cache_creation_tokens = n;
    }
    if let Some(n) = count(report.cache_read_input_tokens) {
        usage.cache_read_tokens = n;
    }
    // OpenAI chat names; cached prompt tokens are part of prompt_tokens there.
    if let Some(n) = count(report.prompt_tokens) {
        let cached = cached_tokens(report.prompt_tokens_details).unwrap_or(0);
        usage.input_tokens = n.saturating_sub(cached);
        usage.cache_read_tokens = cached;
    }
    if let Some(n) = count(report.completion_tokens) {
        usage.output_tokens = n;
    }
    // OpenAI responses: cached input is part of input_tokens.
    if let Some(cached) = cached_tokens(report.input_tokens_details) {
        usage.input_tokens = usage.input_tokens.saturating_sub(cached);
        usage.cache_read_tokens = cached;
    }
}

impl<B> Body for MeteredBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        loop {
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Some(data) = frame.data_ref() else {
                        return Poll::Ready(Some(Ok(frame)));
                    };
                    match this.observe(data) {
                        None => return Poll::Ready(Some(Ok(frame))),
                        // Filtering: relay what completed; nothing yet means read on.
                        Some(relay) if !relay.is_empty() => {
                            return Poll::Ready(Some(Ok(Frame::data(relay))))
                        }
                        Some(_) => {}
                    }
                }
                Poll::Ready(None) => {
                    if let Some(rest) = this.leftover() {
                        return Poll::Ready(Some(Ok(Frame::data(rest))));
                    }
                    this.finish();
                    return Poll::Ready(None);
                }
                other => return other,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for MeteredBody<B> {
    /// A client that leaves mid-stream is still billed for what the provider reported.
    fn drop(&mut self) {
        // Also where a body ends when its consumer stops polling at the last byte.
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage_of(events: &[&str]) -> Usage {
        let mut usage = Usage::default();
        for e in events {
            read_usage(&Members::parse(e.as_bytes()).unwrap(), &mut usage);
        }
        usage
    }

    #[test]
    fn anthropic_stream_counts_are_cumulative_not_summed() {
        let usage = usage_of(&[
            r#"{"type":"message_start","message":{"model":"claude-sonnet-4-5","usage":{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1}}}"#,
            r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"hi"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":30}}"#,
            r#"{"type":"message_delta","delta":{},"usage":{"output_tokens":57}}"#,
        ]);
        assert_eq!(
            (
                usage.model.as_str(),
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_creation_tokens,
                usage.cache_read_tokens
            ),
            ("claude-sonnet-4-5", 12, 57, 100, 2000)
        );
    }

    #[test]
    fn openai_chat_and_responses_usage() {
        let chat = usage_of(&[
            r#"{"id":"c","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[{"delta":{"content":"x"}}],"usage":null}"#,
            r#"{"id":"c","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":40,"prompt_tokens_details":{"cached_tokens":1024}}}"#,
        ]);
        assert_eq!(
            (
                chat.input_tokens,
                chat.output_tokens,
                chat.cache_read_tokens
            ),
            (176, 40, 1024)
        );
        assert_eq!(chat.model, "gpt-4o-2024-08-06");
        let responses = usage_of(&[
            r#"{"type":"response.created","response":{"model":"gpt-5","usage":null}}"#,
            r#"{"type":"response.completed","response":{"model":"gpt-5","usage":{"input_tokens":900,"input_tokens_details":{"cached_tokens":100},"output_tokens":70}}}"#,
        ]);
        assert_eq!(
            (
                responses.model.as_str(),
                responses.input_tokens,
                responses.output_tokens,
                responses.cache_read_tokens
            ),
            ("gpt-5", 800, 70, 100)
        );
    }

    #[test]
    fn odd_members_are_no_usage_and_escaped_names_are_read() {
        // Counts that are not non-negative integers count for nothing; the rest is read.
        let odd = usage_of(&[
            r#"{"model":"gpt-4o\u002dmini","choices":[{"message":{"content":"{\"usage\":1}"}}],"usage":{"prompt_tokens":"12","completion_tokens":7.5,"total_tokens":-1,"prompt_tokens_details":[1]}}"#,
        ]);
        assert_eq!(odd.model, "gpt-4o-mini");
        assert!(odd.is_empty());
        // Not objects where objects belong: nothing read, nothing panics.
        for event in [
            r#"{"type":"message_start","message":[1,2]}"#,
            r#"{"type":"message_delta","usage":[3,4]}"#,
            r#"{"type":"response.completed","response":"done"}"#,
            r#"{"model":7,"usage":{"input_tokens":5}}"#,
        ] {
            let usage = usage_of(&[event]);
            assert_eq!(usage.model, "", "{event}");
        }
        assert!(Members::parse(b"[1]").is_none());
        assert!(Members::parse(b" {\"usage\":{}} ").is_some());
        assert_eq!(
            usage_of(&[r#"{"model":7,"usage":{"input_tokens":5}}"#]).input_tokens,
            5
        );
    }

    #[test]
    fn an_event_ends_at_the_first_blank_line_of_either_kind() {
        assert_eq!(event_end(b"x\r\n\r\n\ny\n\n"), Some((1, 4)));
        assert_eq!(event_end(b"x\n\ny\r\n\r\n"), Some((1, 2)));
        assert_eq!(event_end(b"x\r\ny\r\n\r\n"), Some((4, 4)));
        assert_eq!(event_end(b"x\r\ny"), None);
    }

    #[test]
    fn events_split_across_frames_and_crlf_line_ends() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut body = MeteredBody::new(
            (),
            Some("text/event-stream"),
            Usage::default(),
            tx,
            false,
            Default::default(),
        );
        let stream = "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\r\n\r\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\n\n";
        for chunk in stream.as_bytes().chunks(7) {
            body.observe(&Bytes::copy_from_slice(chunk));
        }
        body.finish();
        let usage = rx.try_recv().unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens), (5, 9));
        assert!(rx.try_recv().is_err(), "reported once");
    }

    #[test]
    fn usage_is_asked_for_only_when_the_client_did_not() {
        let asked = ask_for_usage(br#"{"model":"m","stream":true,"messages":[]}"#).unwrap();
        let asked: Value = serde_json::from_slice(&asked).unwrap();
        assert_eq!(asked["stream_options"]["include_usage"], true);
        assert!(ask_for_usage(br#"{"model":"m","stream":false}"#).is_none());
        assert!(
            ask_for_usage(br#"{"stream":true,"stream_options":{"include_usage":false}}"#).is_none()
        );
        assert!(ask_for_usage(b"[1,2]").is_none());
        assert!(ask_for_usage(br#"{"stream": "true"}"#).is_none());
        // The word in message text is not the key.
        let asked = ask_for_usage(
            br#"{"stream":true,"messages":[{"role":"user","content":"set \"include_usage\""}]}"#,
        )
        .unwrap();
        let asked: Value = serde_json::from_slice(&asked).unwrap();
        assert_eq!(asked["stream_options"]["include_usage"], true);
        // Nested "stream" keys are not the request's.
        assert!(ask_for_usage(br#"{"metadata":{"stream":true}}"#).is_none());
        // Put in front, the rest untouched, byte for byte.
        let body = br#" {"model":"m","messages":[{"role":"user","content":"a \"stream\": true"}],"stream": true}"#;
        let asked = ask_for_usage(body).unwrap();
        assert_eq!(
            &asked[..],
            br#" {"stream_options":{"include_usage":true},"model":"m","messages":[{"role":"user","content":"a \"stream\": true"}],"stream": true}"#
        );
        let parsed: Value = serde_json::from_slice(&asked).unwrap();
        assert_eq!(parsed["stream_options"]["include_usage"], true);
        let merged =
            ask_for_usage(br#"{"stream":true,"stream_options":{"include_obfuscation":false}}"#)
                .unwrap();
        let merged: Value = serde_json::from_slice(&merged).unwrap();
        assert_eq!(
            merged["stream_options"],
            serde_json::json!({"include_obfuscation": false, "include_usage": true})
        );
    }

    #[test]
    fn the_injected_usage_chunk_is_metered_and_left_out() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut body = MeteredBody::new(
            (),
            Some("text/event-stream"),
            Usage::default(),
            tx,
            true,
            Default::default(),
        );
        let stream = concat!(
            "data: {\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n",
            "data: {\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}\n\n",
            "data: [DONE]\n\n"
        );
        let mut relayed = Vec::new();
        for chunk in stream.as_bytes().chunks(11) {
            if let Some(out) = body.observe(&Bytes::copy_from_slice(chunk)) {
                relayed.extend_from_slice(&out);
            }
        }
        if let Some(rest) = body.leftover() {
            relayed.extend_from_slice(&rest);
        }
        body.finish();
        let relayed = String::from_utf8(relayed).unwrap();
        assert!(!relayed.contains("usage"), "{relayed}");
        assert!(
            relayed.contains("\"hi\"") && relayed.ends_with("data: [DONE]\n\n"),
            "{relayed}"
        );
        let usage = rx.try_recv().unwrap();
        assert_eq!((usage.input_tokens, usage.output_tokens), (9, 3));
    }
}
