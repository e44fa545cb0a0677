//! The page cache's slot table, in the caller's memory: per-slot metadata
//! (page number, list, reference bit, links), three intrusive lists (free
//! slots, clean pages, dirty pages), the CLOCK hand that picks eviction
//! victims, and an open-addressing hash from page number to slot. Every
//! operation is O(1) (the hand's sweep amortised) but sorting the dirty
//! list (as SQLite's `pcache1` and `pcache.c`).
//!
//! Layout of the cache part of the memory: `n` page slots, then 16 bytes of
//! metadata per slot (page number, list, previous and next slot), then
//! `2 * next_pow2(n)` 8-byte hash entries (page number and slot + 1, 0 =
//! empty; linear probing, deletion by backward shift, so no tombstones; the
//! page number in the entry saves a probe a visit to the slot metadata).

use crate::format::{get_u32, put_u32};

/// Bytes of metadata per slot.
pub(super) const SLOT_META: usize = 16;
/// Bytes of a hash entry.
pub(super) const HASH_ENTRY: usize = 8;
/// No slot (end of a list).
pub(super) const NIL: u32 = u32::MAX;

/// The lists a slot can be on (the low bits of its list word).
pub(super) const FREE: u32 = 0;
pub(super) const CLEAN: u32 = 1;
pub(super) const DIRTY: u32 = 2;
/// The list word's reference bit: a page used since the CLOCK hand last
/// passed it (second chance, so that a hit costs one store rather than a
/// move to the front of a list).
const REF: u32 = 0x100;

/// Caches with fewer slots than this spill a dirty page only when every
/// page is dirty ([`Slots::sweep`]).
pub(super) const SMALL_CACHE: usize = 8;

/// Hash entries for `n` slots: twice the next power of two.
pub(super) const fn hash_entries(n: usize) -> usize {
    2 * n.next_power_of_two()
}

/// A doubly linked list of slots (links in the slot metadata).
#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
    len: u32,
}

const EMPTY_LIST: List = List {
    head: NIL,
    tail: NIL,
    len: 0,
};

/// The geometry of the slot table and the heads of its lists.
#[derive(Debug)]
pub(super) struct Slots {
    page_size: usize,
    n: usize,
    meta_at: usize,
    hash_at: usize,
    hash_mask: u32,
    hash_shift: u32,
    lists: [List; 3],
    /// The CLOCK hand: the slot [`Slots::sweep`] looked at last.
    hand: u32,
}

impl Slots {
    /// The table of `n` slots of `page_size` bytes (the caller checked
    /// that the memory holds it; [`Slots::clear`] initialises it).
    pub(super) fn new(page_size: usize, n: usize) -> Slots {
        let entries = hash_entries(n);
        Slots {
            page_size,
            n,
            meta_at: n * page_size,
            hash_at: n * page_size + n * SLOT_META,
            hash_mask: entries as u32 - 1,
            hash_shift: 32 - entries.trailing_zeros(),
            lists: [EMPTY_LIST; 3],
            hand: 0,
        }
    }

    /// The eviction victim of a full table, by the CLOCK algorithm over
    /// the slots in index order (as PostgreSQL's buffer manager and the
    /// Multics pager): the hand moves one slot at a time, clearing the
    /// reference bit of each slot it passes that has one (a second chance),
    /// and stops at the first slot without one. While fewer than half the
    /// slots are dirty, the hand passes dirty slots, so that a transaction
    /// spills pages only once dirty pages fill half the cache; from then on
    /// it passes clean slots, so that the victim is a dirty page not used
    /// for a whole turn (the caller spills it) and the clean half keeps the
    /// pages every lookup passes, such as branch pages (which a clean-first
    /// policy evicts, as SQLite's `pcache1` does past its 90 % mark).
    /// Spilling early costs little: a spilled page not changed again is not
    /// written again at the commit. Returns a slot on
    /// the clean or dirty list; at most three turns of the hand (the first
    /// clears every bit it passes; a clean slot exists when dirty ones are
    /// passed, a dirty one when clean ones are). Call only when no slot is free. A cache of fewer than
    /// [`SMALL_CACHE`] slots passes dirty pages while any page is clean (it
    /// has no set of branch pages to keep, and spilling only when every
    /// page is dirty keeps spills out of the deepest calls, such as the
    /// allocation of a split, which sets a microcontroller's peak stack).
    pub(super) fn sweep(&mut self, mem: &mut [u8]) -> u32 {
        let n = self.n as u32;
        let dirty = self.count(DIRTY);
        let pass_dirty = if self.n < SMALL_CACHE { dirty < self.n } else { 2 * dirty < self.n };
        let pass_clean = !pass_dirty && self.n >= SMALL_CACHE;
        let mut s = self.hand;
        for _ in 0..3 * n {
            s = if s + 1 >= n { 0 } else { s + 1 };
            let l = self.list_of(mem, s);
            if pass_dirty && l == DIRTY || pass_clean && l == CLEAN {
                continue;
            }
            if !self.take_ref(mem, s) {
                break;
            }
        }
        self.hand = s;
        s
    }

    /// Slots in the table.
    pub(super) fn len(&self) -> usize {
        self.n
    }

    /// Bytes of slot `slot`'s page.
    #[inline]
    pub(super) fn page_range(&self, slot: u32) -> core::ops::Range<usize> {
        let at = slot as usize * self.page_size;
        at..at + self.page_size
    }

    /// Empties the table: every slot free, the hash empty.
    pub(super) fn clear(&mut self, mem: &mut [u8]) {
        let n = self.n;
        // The hash lies in `mem` (the layout was worked out from its
        // length): `None` never happens (a debug assertion in tests).
        let hash = mem.get_mut(self.hash_at..self.hash_at + HASH_ENTRY * hash_entries(n));
        debug_assert!(hash.is_some(), "cache hash outside the cache memory");
        if let Some(hash) = hash {
            hash.fill(0);
        }
        for s in 0..n {
            let m = self.meta_at + s * SLOT_META;
            put_u32(mem, m, 0);
            put_u32(mem, m + 4, FREE);
            put_u32(mem, m + 8, if s == 0 { NIL } else { s as u32 - 1 });
            put_u32(mem, m + 12, if s + 1 == n { NIL } else { s as u32 + 1 });
        }
        self.lists = [EMPTY_LIST; 3];
        self.lists[FREE as usize] = List {
            head: 0,
            tail: n as u32 - 1,
            len: n as u32,
        };
    }

    #[inline]
    fn meta(&self, slot: u32) -> usize {
        self.meta_at + slot as usize * SLOT_META
    }
    /// The page in `slot` (0: none).
    #[inline]
    pub(super) fn pgno(&self, mem: &[u8], slot: u32) -> u32 {
        get_u32(mem, self.meta(slot))
    }
    /// The list `slot` is on.
    #[inline]
    pub(super) fn list_of(&self, mem: &[u8], slot: u32) -> u32 {
        get_u32(mem, self.meta(slot) + 4) & !REF
    }
    /// Marks `slot` used (its reference bit).
    #[inline]
    pub(super) fn touch(&self, mem: &mut [u8], slot: u32) {
        let m = self.meta(slot) + 4;
        let w = get_u32(mem, m);
        if w & REF == 0 {
            put_u32(mem, m, w | REF);
        }
    }
    /// Clears `slot`'s reference bit; returns whether it was set.
    pub(super) fn take_ref(&self, mem: &mut [u8], slot: u32) -> bool {
        let m = self.meta(slot) + 4;
        let w = get_u32(mem, m);
        put_u32(mem, m, w & !REF);
        w & REF != 0
    }
    /// The slot after `slot` on its list.
    #[inline]
    pub(super) fn next(&self, mem: &[u8], slot: u32) -> u32 {
        get_u32(mem, self.meta(slot) + 12)
    }
    /// The first slot of `list` (NIL when empty).
    #[inline]
    pub(super) fn head(&self, list: u32) -> u32 {
        self.lists[list as usize].head
    }
    /// The last slot of `list` (NIL when empty).
    #[inline]
    pub(super) fn tail(&self, list: u32) -> u32 {
        self.lists[list as usize].tail
    }
    /// Slots on `list`.
    #[inline]
    pub(super) fn count(&self, list: u32) -> usize {
        self.lists[list as usize].len as usize
    }

    fn unlink(&mut self, mem: &mut [u8], slot: u32) {
        let m = self.meta(slot);
        let (list, prev, next) = (get_u32(mem, m + 4) & !REF, get_u32(mem, m + 8), get_u32(mem, m + 12));
        if prev != NIL {
            put_u32(mem, self.meta(prev) + 12, next);
        }
        if next != NIL {
            put_u32(mem, self.meta(next) + 8, prev);
        }
        // A slot's list number is one of the three (set by `link`).
        if let Some(l) = self.lists.get_mut(list as usize) {
            if prev == NIL {
                l.head = next;
            }
            if next == NIL {
                l.tail = prev;
            }
            l.len -= 1;
        }
    }

    fn link(&mut self, mem: &mut [u8], slot: u32, list: u32, front: bool) {
        let m = self.meta(slot);
        let l = self.lists[list as usize];
        put_u32(mem, m + 4, list);
        if front {
            put_u32(mem, m + 8, NIL);
            put_u32(mem, m + 12, l.head);
            if l.head == NIL {
                self.lists[list as usize].tail = slot;
            } else {
                put_u32(mem, self.meta(l.head) + 8, slot);
            }
            self.lists[list as usize].head = slot;
        } else {
            put_u32(mem, m + 8, l.tail);
            put_u32(mem, m + 12, NIL);
            if l.tail == NIL {
                self.lists[list as usize].head = slot;
            } else {
                put_u32(mem, self.meta(l.tail) + 12, slot);
            }
            self.lists[list as usize].tail = slot;
        }
        self.lists[list as usize].len += 1;
    }

    /// Moves `slot` to the front (`front`) or the back of `list`.
    pub(super) fn move_to(&mut self, mem: &mut [u8], slot: u32, list: u32, front: bool) {
        self.unlink(mem, slot);
        self.link(mem, slot, list, front);
    }

    #[inline]
    fn home(&self, pgno: u32) -> u32 {
        pgno.wrapping_mul(0x9E37_79B1) >> self.hash_shift
    }
    #[inline]
    fn entry(&self, mem: &[u8], i: u32) -> (u32, u32) {
        let at = self.hash_at + HASH_ENTRY * i as usize;
        (get_u32(mem, at), get_u32(mem, at + 4))
    }
    #[inline]
    fn set_entry(&self, mem: &mut [u8], i: u32, (pgno, slot1): (u32, u32)) {
        let at = self.hash_at + HASH_ENTRY * i as usize;
        put_u32(mem, at, pgno);
        put_u32(mem, at + 4, slot1);
    }

    /// The slot holding `pgno`, and its hash position.
    #[inline]
    fn lookup(&self, mem: &[u8], pgno: u32) -> Option<(u32, u32)> {
        let mut i = self.home(pgno);
        loop {
            let (p, s1) = self.entry(mem, i);
            if s1 == 0 {
                return None;
            }
            if p == pgno {
                return Some((s1 - 1, i));
            }
            i = (i + 1) & self.hash_mask;
        }
    }

    /// The slot holding page `pgno`, if it is cached.
    #[inline]
    pub(super) fn find(&self, mem: &[u8], pgno: u32) -> Option<u32> {
        self.lookup(mem, pgno).map(|(s, _)| s)
    }

    /// Makes the free slot `slot` hold page `pgno` (in the hash; its list is
    /// the caller's next move).
    pub(super) fn claim(&mut self, mem: &mut [u8], slot: u32, pgno: u32) {
        put_u32(mem, self.meta(slot), pgno);
        let mut i = self.home(pgno);
        while self.entry(mem, i).1 != 0 {
            i = (i + 1) & self.hash_mask;
        }
        self.set_entry(mem, i, (pgno, slot + 1));
    }

    /// Empties `slot` (out of the hash, onto the front of the free list).
    pub(super) fn release(&mut self, mem: &mut [u8], slot: u32) {
        if let Some((_, at)) = self.lookup(mem, self.pgno(mem, slot)) {
            self.hash_remove_at(mem, at);
        }
        put_u32(mem, self.meta(slot), 0);
        self.move_to(mem, slot, FREE, true);
    }

    /// Drops page `pgno` from the table if it is there.
    pub(super) fn drop_page(&mut self, mem: &mut [u8], pgno: u32) {
        if let Some(s) = self.find(mem, pgno) {
            self.release(mem, s);
        }
    }

    /// Removes hash position `i`, shifting later entries of its probe run
    /// back.
    fn hash_remove_at(&self, mem: &mut [u8], mut i: u32) {
        let mask = self.hash_mask;
        let mut j = i;
        loop {
            self.set_entry(mem, i, (0, 0));
            loop {
                j = (j + 1) & mask;
                let e = self.entry(mem, j);
                if e.1 == 0 {
                    return;
                }
                let h = self.home(e.0);
                // The entry at j stays unless its home lies cyclically
                // outside (i, j].
                let stays = if i <= j { i < h && h <= j } else { i < h || h <= j };
                if !stays {
                    self.set_entry(mem, i, e);
                    i = j;
                    break;
                }
            }
        }
    }

    /// Sorts the dirty list by page number (a bottom-up merge sort of the
    /// linked list, as SQLite's `pcacheSortDirtyList`), so that a commit
    /// writes its frames in page order, page 1 first.
    pub(super) fn sort_dirty(&mut self, mem: &mut [u8]) {
        let len = self.count(DIRTY);
        let mut head = self.head(DIRTY);
        let set_next = |s: &Slots, mem: &mut [u8], a: u32, b: u32| put_u32(mem, s.meta(a) + 12, b);
        let mut width = 1;
        while width < len {
            let (mut new_head, mut new_tail) = (NIL, NIL);
            let mut rest = head;
            while rest != NIL {
                // Cut two runs of up to `width` off `rest`.
                let a = rest;
                let mut end = a;
                for _ in 1..width {
                    if self.next(mem, end) == NIL {
                        break;
                    }
                    end = self.next(mem, end);
                }
                let mut b = self.next(mem, end);
                set_next(self, mem, end, NIL);
                rest = NIL;
                if b != NIL {
                    let mut end = b;
                    for _ in 1..width {
                        if self.next(mem, end) == NIL {
                            break;
                        }
                        end = self.next(mem, end);
                    }
                    rest = self.next(mem, end);
                    set_next(self, mem, end, NIL);
                }
                // Merge the two runs onto the new list.
                let mut a = a;
                while a != NIL || b != NIL {
                    let take_a = b == NIL || (a != NIL && self.pgno(mem, a) <= self.pgno(mem, b));
                    let t = if take_a { a } else { b };
                    if take_a {
                        a = self.next(mem, a);
                    } else {
                        b = self.next(mem, b);
                    }
                    if new_tail == NIL {
                        new_head = t;
                    } else {
                        set_next(self, mem, new_tail, t);
                    }
                    new_tail = t;
                }
                set_next(self, mem, new_tail, NIL);
            }
            head = new_head;
            width *= 2;
        }
        // Rebuild the back links and the tail.
        let mut prev = NIL;
        let mut s = head;
        while s != NIL {
            put_u32(mem, self.meta(s) + 8, prev);
            prev = s;
            s = self.next(mem, s);
        }
        self.lists[DIRTY as usize].head = head;
        self.lists[DIRTY as usize].tail = prev;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::BTreeMap;
    use std::vec;
    use std::vec::Vec;

    /// Random claims, releases, moves and drops against a model: the hash
    /// finds exactly the pages the model holds, every slot is on exactly one
    /// list, list counts add up, and the dirty list sorts by page number.
    #[test]
    fn slot_table_matches_a_model() {
        for n in [1usize, 4, 7, 64] {
            let ps = 16;
            let mut mem = vec![0u8; n * ps + n * SLOT_META + HASH_ENTRY * hash_entries(n)];
            let mut t = Slots::new(ps, n);
            t.clear(&mut mem);
            let mut model: BTreeMap<u32, (u32, u32)> = BTreeMap::new(); // pgno -> (slot, list)
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ n as u64;
            let mut rnd = |m: u64| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % m
            };
            for step in 0..20_000 {
                // Page numbers from a small range force collisions and reuse.
                let pgno = 1 + rnd(3 * n as u64 + 5) as u32;
                match rnd(5) {
                    0 | 1 if !model.contains_key(&pgno) && t.count(FREE) > 0 => {
                        let s = t.head(FREE);
                        t.claim(&mut mem, s, pgno);
                        let list = if rnd(2) == 0 { CLEAN } else { DIRTY };
                        t.move_to(&mut mem, s, list, rnd(2) == 0);
                        model.insert(pgno, (s, list));
                    }
                    2 => {
                        t.drop_page(&mut mem, pgno);
                        model.remove(&pgno);
                    }
                    3 => {
                        if let Some(&(s, _)) = model.get(&pgno) {
                            let list = if rnd(2) == 0 { CLEAN } else { DIRTY };
                            t.move_to(&mut mem, s, list, rnd(2) == 0);
                            model.insert(pgno, (s, list));
                        }
                    }
                    _ => {
                        if t.count(DIRTY) > 0 && rnd(50) == 0 {
                            t.sort_dirty(&mut mem);
                            let mut s = t.head(DIRTY);
                            let mut seen = Vec::new();
                            while s != NIL {
                                seen.push(t.pgno(&mem, s));
                                s = t.next(&mem, s);
                            }
                            let want: Vec<u32> = model.iter().filter(|(_, v)| v.1 == DIRTY).map(|(p, _)| *p).collect();
                            assert_eq!(seen, want, "n={n} step {step}: sorted dirty list");
                            assert_eq!(t.pgno(&mem, t.tail(DIRTY)), *want.last().unwrap());
                        }
                    }
                }
                for p in 1..=(3 * n as u32 + 5) {
                    assert_eq!(t.find(&mem, p), model.get(&p).map(|v| v.0), "n={n} step {step}: page {p}");
                }
                let by = |l: u32| model.values().filter(|v| v.1 == l).count();
                assert_eq!(t.count(CLEAN), by(CLEAN));
                assert_eq!(t.count(DIRTY), by(DIRTY));
                assert_eq!(t.count(FREE), n - model.len());
                for (&p, &(s, l)) in &model {
                    assert_eq!((t.pgno(&mem, s), t.list_of(&mem, s)), (p, l));
                }
            }
        }
    }

    /// The CLOCK sweep: a used page gets a second chance, an unused one is
    /// the victim; dirty pages are passed while fewer than half the slots
    /// are dirty (and in a small cache while any page is clean), and can
    /// be the victim beyond that.
    #[test]
    fn sweep_gives_second_chances_and_spares_dirty_pages_below_half() {
        for n in [4usize, 16] {
            let ps = 16;
            let mut mem = vec![0u8; n * ps + n * SLOT_META + HASH_ENTRY * hash_entries(n)];
            let mut t = Slots::new(ps, n);
            t.clear(&mut mem);
            // Slots 0..n, page s + 1; the first `d` dirty.
            let fill = |t: &mut Slots, mem: &mut [u8], d: usize| {
                t.clear(mem);
                for s in 0..n as u32 {
                    let head = t.head(FREE);
                    assert_eq!(head, s);
                    t.claim(mem, s, s + 1);
                    t.move_to(mem, s, if (s as usize) < d { DIRTY } else { CLEAN }, false);
                }
            };
            // Below half dirty: the first clean slot after the hand that was
            // not used since the last turn.
            let d = n / 2 - 1;
            fill(&mut t, &mut mem, d);
            t.hand = n as u32 - 1;
            t.touch(&mut mem, d as u32);
            let v = t.sweep(&mut mem);
            assert_eq!(v, d as u32 + 1, "n={n}: the used page {d} had a second chance");
            assert_eq!(t.list_of(&mem, v), CLEAN);
            assert!(!t.take_ref(&mut mem, d as u32), "n={n}: the pass cleared the bit");
            // Every clean page used: after one turn clearing the bits, the
            // first clean page past the hand; dirty ones still passed.
            for s in 0..n as u32 {
                t.touch(&mut mem, s);
            }
            t.hand = n as u32 - 1;
            assert_eq!(t.sweep(&mut mem), d as u32, "n={n}");
            // Half dirty or more: a dirty page not used for a turn is the
            // victim in a large cache (clean pages passed, even unused
            // ones); a small one still takes a clean page while there is
            // one.
            fill(&mut t, &mut mem, n / 2);
            t.hand = n as u32 / 2 - 1;
            let v = t.sweep(&mut mem);
            if n < SMALL_CACHE {
                assert_eq!(t.list_of(&mem, v), CLEAN, "n={n}");
                assert_eq!(v, n as u32 / 2);
            } else {
                assert_eq!((v, t.list_of(&mem, v)), (0, DIRTY), "n={n}");
            }
            // All dirty: a dirty page, whatever the size.
            fill(&mut t, &mut mem, n);
            t.hand = 0;
            assert_eq!(t.sweep(&mut mem), 1, "n={n}");
        }
    }
}
