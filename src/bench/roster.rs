//! Who is in which group of a `group` run, who sends in it, and creating those groups through
//! `POST /api/groups`.
//!
//! Group `g` holds the users `g·N, g·N+1, …` (mod the run's user count), so with as many users
//! as memberships every user is in one group, and with fewer some are in several, all on their
//! one socket. The first member owns the group and the first `senders` members send in it. A
//! group's `client_id` and title are derived from the shape, so a later run with the same
//! users file answers the same groups again (creating is idempotent) instead of creating more
//! (which `--group-create-rate` limits per owner).

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use serde_json::json;

use super::Target;
use super::users::BenchUser;

/// How many groups, of how many members, over how many users.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub groups: usize,
    /// Members of each group, its owner included.
    pub members: usize,
    pub users: usize,
    /// Members of each group who send in it.
    pub senders: usize,
    /// Members of each group online (the first of its members, senders included); the others
    /// never open a socket, and their messages wait in their streams.
    pub online: usize,
}

impl Shape {
    /// Checks that the shape can be built: every group with distinct members.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.groups > 0, "--groups must be at least 1");
        anyhow::ensure!(self.members >= 2, "--members must be at least 2");
        anyhow::ensure!(
            self.users >= self.members,
            "--users ({}) must be at least --members ({})",
            self.users,
            self.members
        );
        anyhow::ensure!(
            (1..=self.members).contains(&self.senders),
            "--senders must be between 1 and --members"
        );
        anyhow::ensure!(
            (self.senders..=self.members).contains(&self.online),
            "--online leaves {} of {} members online: at least the {} senders must be",
            self.online,
            self.members,
            self.senders
        );
        anyhow::ensure!(
            self.online == self.members || self.users == self.groups * self.members,
            "--online below 100 needs every user in one group (no --users)"
        );
        Ok(())
    }

    /// Whether user `u` of the run is online (see `online`; with every member online, all are).
    pub fn is_online(&self, u: usize) -> bool {
        self.online == self.members || u % self.members < self.online
    }

    /// The members of group `g`, as indexes into the run's users, its owner first.
    pub fn members_of(&self, g: usize) -> Vec<usize> {
        (0..self.members)
            .map(|j| (g * self.members + j) % self.users)
            .collect()
    }
}

/// A group of the run.
#[derive(Debug, Clone)]
pub struct Group {
    /// Its conversation id.
    pub id: i64,
    /// Indexes into the run's users, the owner first; the first `Shape::senders` send.
    pub members: Vec<usize>,
}

#[derive(Deserialize)]
struct Created {
    id: i64,
}

/// Creates (or finds again) every group of `shape` among `people`.
pub async fn create(
    target: &Target,
    people: &[BenchUser],
    shape: &Shape,
) -> anyhow::Result<Vec<Group>> {
    stream::iter(0..shape.groups)
        .map(|g| async move {
            let members = shape.members_of(g);
            let owner = &people[members[0]];
            let others: Vec<&str> = members[1..]
                .iter()
                .map(|&u| people[u].username.as_str())
                .collect();
            let name = format!("{}x{}-of-{}-{g}", shape.groups, shape.members, shape.users);
            let body = json!({
                "client_id": format!("bench-{name}"),
                "title": format!("Bench group {name}"),
                "members": others,
            });
            let created: Created = target
                .post_json(Some(&owner.token), "/api/groups", &body)
                .await
                .with_context(|| format!("creating group {g} as {}", owner.username))?;
            Ok::<_, anyhow::Error>(Group {
                id: created.id,
                members,
            })
        })
        .buffered(target.args.setup_concurrency.max(1))
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_take_users_in_turn_and_wrap_around() {
        let distinct = Shape {
            groups: 2,
            members: 3,
            users: 6,
            senders: 1,
            online: 3,
        };
        assert_eq!(distinct.members_of(1), vec![3, 4, 5]);
        let shared = Shape {
            users: 4,
            ..distinct
        };
        assert_eq!(shared.members_of(1), vec![3, 0, 1]);
        assert!(shared.check().is_ok());
        assert!(
            Shape {
                users: 2,
                ..distinct
            }
            .check()
            .is_err()
        );
        assert!(
            Shape {
                senders: 4,
                ..distinct
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn the_first_members_of_each_group_are_the_ones_online() {
        let half = Shape {
            groups: 2,
            members: 4,
            users: 8,
            senders: 1,
            online: 2,
        };
        assert!(half.check().is_ok());
        let online: Vec<usize> = (0..8).filter(|&u| half.is_online(u)).collect();
        assert_eq!(online, vec![0, 1, 4, 5]);
        // Senders are always online, and which users are online is only defined when each
        // user is in one group.
        let refused = |shape: Shape| shape.check().expect_err("refused").to_string();
        assert!(refused(Shape { senders: 3, ..half }).contains("--online"));
        assert!(refused(Shape { users: 6, ..half }).contains("--online"));
        assert!((0..8).all(|u| Shape { online: 4, ..half }.is_online(u)));
    }
}
