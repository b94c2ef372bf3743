//! What a write job works on: the writer's connection in its open transaction, and what the
//! writer remembers across jobs of where users' event streams end (`Cursors`), so appending an
//! event does not look the end of the stream up in the index every time.
//!
//! The memo holds only what is committed or written by the open transaction: the writer
//! forgets all of it whenever it rolls anything back (a batch, or one job to its savepoint).
//! Events are never deleted, and nothing but the writer appends them, so a remembered cursor is
//! the stream's end. Should another process append to the same file all the same, the cursor
//! the memo gives is one already taken: `events`' key refuses it, the batch is rolled back, the
//! memo forgotten, and the batch runs again reading the index; a cursor is never skipped or
//! given twice.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Deref;

use rusqlite::Connection;

use crate::domain::ids::{Cursor, UserId};
use crate::store::StoreError;

/// Users remembered at most; past it the memo starts over (one index read per user again).
const MOST_REMEMBERED: usize = 65_536;

/// Each user's last cursor, as the writer last wrote or read it.
#[derive(Default)]
pub struct Cursors {
    last: HashMap<UserId, Cursor>,
}

impl Cursors {
    /// The cursor `user`'s next event gets, taken as given: the caller appends it in the open
    /// transaction, or fails its job (whose rollback forgets the memo). `read` gives the last
    /// cursor stored, for a user not remembered.
    fn take_next(
        &mut self,
        user: UserId,
        read: impl FnOnce() -> Result<Cursor, StoreError>,
    ) -> Result<Cursor, StoreError> {
        let last = match self.last.get(&user) {
            Some(last) => *last,
            None => read()?,
        };
        if self.last.len() >= MOST_REMEMBERED && !self.last.contains_key(&user) {
            self.last.clear();
        }
        let next = Cursor(last.0 + 1);
        self.last.insert(user, next);
        Ok(next)
    }

    /// Forgets everything: the writer rolled something back.
    fn forget(&mut self) {
        self.last.clear();
    }
}

/// A write job's view of the writer: its connection (every `&Connection` function takes it
/// as one) and the cursor memo.
pub struct WriteTx<'a> {
    conn: &'a Connection,
    cursors: &'a RefCell<Cursors>,
}

impl<'a> WriteTx<'a> {
    pub fn new(conn: &'a Connection, cursors: &'a RefCell<Cursors>) -> Self {
        WriteTx { conn, cursors }
    }

    /// The cursor `user`'s next event gets (see `Cursors::take_next`).
    pub fn take_next_cursor(
        &self,
        user: UserId,
        read: impl FnOnce(&Connection) -> Result<Cursor, StoreError>,
    ) -> Result<Cursor, StoreError> {
        self.cursors
            .borrow_mut()
            .take_next(user, || read(self.conn))
    }

    /// Forgets the memo: the writer is rolling something back.
    pub fn forget_cursors(&self) {
        self.cursors.borrow_mut().forget();
    }
}

impl Deref for WriteTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_read_once_then_counted_on() {
        let mut cursors = Cursors::default();
        let reads = std::cell::Cell::new(0);
        let next = |cursors: &mut Cursors| {
            cursors
                .take_next(UserId(7), || {
                    reads.set(reads.get() + 1);
                    Ok(Cursor(41))
                })
                .unwrap()
        };
        assert_eq!(next(&mut cursors), Cursor(42));
        assert_eq!(next(&mut cursors), Cursor(43));
        cursors.forget();
        assert_eq!(next(&mut cursors), Cursor(42));
        assert_eq!(reads.get(), 2);
    }

    #[test]
    fn a_failed_read_remembers_nothing() {
        let mut cursors = Cursors::default();
        let failed = cursors.take_next(UserId(1), || Err(StoreError::Unavailable("gone".into())));
        assert!(failed.is_err());
        let next = cursors.take_next(UserId(1), || Ok(Cursor(0))).unwrap();
        assert_eq!(next, Cursor(1));
    }

    #[test]
    fn a_full_memo_starts_over() {
        let mut cursors = Cursors::default();
        for user in 0..MOST_REMEMBERED as i64 {
            cursors.take_next(UserId(user), || Ok(Cursor(5))).unwrap();
        }
        assert_eq!(cursors.last.len(), MOST_REMEMBERED);
        cursors.take_next(UserId(-1), || Ok(Cursor(0))).unwrap();
        assert_eq!(cursors.last.len(), 1);
        let mut read = false;
        let again = cursors
            .take_next(UserId(0), || {
                read = true;
                Ok(Cursor(5))
            })
            .unwrap();
        assert!(read);
        assert_eq!(again, Cursor(6));
    }
}
