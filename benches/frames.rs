//! Micro-benchmarks of the WebSocket hot path: parsing client frames (every `send` and
//! `receipt` goes through `ws::frames::parse`) and encoding what the server pushes (a stored
//! event per recipient socket, an `ack` per send).
//!
//! `cargo bench --bench frames`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use linkup::domain::event::Event;
use linkup::domain::ids::{ConversationId, Cursor, MessageId};
use linkup::domain::time::Timestamp;
use linkup::domain::{Message, MessageKind, MessageStatus};
use linkup::ws::frames::{self, ServerFrame};

fn message(body_bytes: usize) -> Message {
    Message {
        id: MessageId(123_456),
        seq: 789,
        conversation_id: ConversationId(42),
        kind: MessageKind::Text,
        sender: "alice_bench".into(),
        recipient: Some("bob_bench".into()),
        client_id: Some("r7k2p9q-123456".into()),
        body: "x".repeat(body_bytes),
        created_at: Timestamp(1_790_000_000_123),
        status: Some(MessageStatus::Sent),
        delivered_count: None,
        read_count: None,
        edited_at: None,
        deleted: false,
        deleted_by: None,
        reply_to: None,
        reply_to_id: None,
        reactions: Vec::new(),
        attachments: Vec::new(),
        system: None,
    }
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(1));
    let send = format!(
        r#"{{"type":"send","client_id":"r7k2p9q-123456","to":"bob_bench","body":"1234567 {}"}}"#,
        "x".repeat(56)
    );
    group.bench_function("send_64B", |b| {
        b.iter(|| frames::parse(black_box(&send)).is_ok())
    });
    let ids: Vec<String> = (1_000_000..1_000_064)
        .map(|id: i64| id.to_string())
        .collect();
    let receipt = format!(
        r#"{{"type":"receipt","status":"delivered","message_ids":[{}]}}"#,
        ids.join(",")
    );
    group.bench_function("receipt_64_ids", |b| {
        b.iter(|| frames::parse(black_box(&receipt)).is_ok())
    });
    group.bench_function("bad_json", |b| {
        b.iter(|| frames::parse(black_box(r#"{"type":"send","client_id":"#)).is_err())
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    for body in [64, 1024] {
        let event = Event::Message {
            cursor: Cursor(987_654),
            message: message(body),
        };
        group.bench_function(format!("message_event_{body}B"), |b| {
            b.iter(|| serde_json::to_string(black_box(&event)).map(|s| s.len()))
        });
    }
    let stored = message(64);
    group.bench_function("ack_64B", |b| {
        b.iter(|| {
            ServerFrame::Ack {
                client_id: black_box("r7k2p9q-123456"),
                message: black_box(&stored),
            }
            .to_text()
            .len()
        })
    });
    let status = Event::Status {
        cursor: Cursor(987_655),
        conversation_id: ConversationId(42),
        message_ids: (1_000_000..1_000_064).map(MessageId).collect(),
        up_to_id: MessageId(1_000_063),
        status: MessageStatus::Delivered,
        by: "bob_bench".into(),
        all: true,
        at: Timestamp(1_790_000_000_456),
    };
    group.bench_function("status_event_64_ids", |b| {
        b.iter(|| serde_json::to_string(black_box(&status)).map(|s| s.len()))
    });
    group.finish();
}

criterion_group!(benches, parse, encode);
criterion_main!(benches);
