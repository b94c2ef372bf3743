//! Statuses and unread counts are what a recount from scratch says, after randomized
//! interleavings of sends, delivered and read receipts (up-to, any position, backwards
//! included) and a removal, in a group of four: each member's own status of every message from
//! others, the sender's aggregate and counts over the other current members, and each member's
//! unread count, as the store shows them, equal what a plain model of the watermarks gives.

use crate::calls::*;

/// A small deterministic generator (a linear congruential one): each seed is one interleaving.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// The model: who sent each text message, each member's marks, and who is still a member.
struct Model {
    sent: Vec<(MessageId, usize)>,
    delivered: Vec<i64>,
    read: Vec<i64>,
    current: Vec<bool>,
    /// Where a removed member's range ends.
    until: Vec<i64>,
}

impl Model {
    fn own_status(&self, member: usize, id: MessageId) -> MessageStatus {
        if id.0 <= self.read[member] {
            MessageStatus::Read
        } else if id.0 <= self.delivered[member] {
            MessageStatus::Delivered
        } else {
            MessageStatus::Sent
        }
    }

    /// The sender's view: over the other current members, all members since before it.
    fn aggregate(&self, sender: usize, id: MessageId) -> (MessageStatus, i64, i64) {
        let others: Vec<usize> = (0..4)
            .filter(|m| *m != sender && self.current[*m])
            .collect();
        let delivered = others
            .iter()
            .filter(|m| self.delivered[**m] >= id.0)
            .count();
        let read = others.iter().filter(|m| self.read[**m] >= id.0).count();
        let status = if read == others.len() {
            MessageStatus::Read
        } else if delivered == others.len() {
            MessageStatus::Delivered
        } else {
            MessageStatus::Sent
        };
        (status, delivered as i64, read as i64)
    }

    fn unread(&self, member: usize) -> i64 {
        self.sent
            .iter()
            .filter(|(id, from)| {
                *from != member && id.0 > self.read[member] && id.0 <= self.until[member]
            })
            .count() as i64
    }
}

async fn statuses_and_unread_counts_equal_a_recount(store: &dyn Store) {
    for seed in 1..=4u64 {
        let names = ["ann", "ben", "cat", "dan"].map(|n| format!("{n}{seed}"));
        let people = users(
            store,
            [&names[0], &names[1], &names[2], &names[3]].map(|s| s.as_str()),
        )
        .await;
        let group = group_of(
            store,
            &people[0],
            "Recount",
            &[&people[1], &people[2], &people[3]],
        )
        .await;
        let mut dice = Dice(seed);
        let mut model = Model {
            sent: Vec::new(),
            delivered: vec![0; 4],
            read: vec![0; 4],
            current: vec![true; 4],
            until: vec![i64::MAX; 4],
        };
        let removal_at = 20 + dice.below(20);
        for step in 0..60 {
            if step == removal_at {
                let removed = change(
                    store,
                    &people[0],
                    group,
                    GroupEdit::Remove(people[3].clone()),
                )
                .await
                .expect("removed");
                model.current[3] = false;
                model.until[3] = removed.messages[0].id.0;
                continue;
            }
            let who = dice.below(if model.current[3] { 4 } else { 3 });
            if model.sent.is_empty() || dice.below(3) == 0 {
                let sent =
                    try_send_to_group(store, &people[who], group, &format!("s{seed}-{step}"), "x")
                        .await
                        .expect("sent");
                model.sent.push((sent.message.id, who));
                continue;
            }
            let (id, from) = model.sent[dice.below(model.sent.len())];
            if from == who || id.0 > model.until[who] {
                continue;
            }
            let status = if dice.below(2) == 0 {
                MessageStatus::Delivered
            } else {
                MessageStatus::Read
            };
            mark(store, &people[who], &[id], status)
                .await
                .expect("marked");
            if status == MessageStatus::Read {
                model.read[who] = model.read[who].max(id.0);
            }
            model.delivered[who] = model.delivered[who].max(id.0).max(model.read[who]);
        }

        for (member, person) in people.iter().enumerate() {
            let page = try_history_of(store, person, group, None, 10_000)
                .await
                .expect("history");
            for message in page.messages.iter().filter(|m| m.client_id.is_some()) {
                let from = model
                    .sent
                    .iter()
                    .find(|(id, _)| *id == message.id)
                    .expect("sent")
                    .1;
                let seen = (message.status, message.delivered_count, message.read_count);
                let expected = if from == member {
                    let (status, delivered, read) = model.aggregate(member, message.id);
                    (Some(status), Some(delivered), Some(read))
                } else {
                    (Some(model.own_status(member, message.id)), None, None)
                };
                assert_eq!(
                    seen, expected,
                    "seed {seed}, {} sees message {:?}",
                    person.username, message.id
                );
            }
            let unread: i64 = conversations(store, person, 50)
                .await
                .iter()
                .map(|c| c.unread)
                .sum();
            assert_eq!(
                unread,
                model.unread(member),
                "seed {seed}, {}'s unread count",
                person.username
            );
        }
    }
}

stories! {
    statuses_and_unread_counts_equal_a_recount,
}
