//! The vector index: an hnsw_rs graph over unit vectors (cosine), mapped to chunk ids.
//!
//! hnsw_rs cannot delete points, so a deleted or replaced chunk leaves a tombstone that searches filter out;
//! when tombstones pile up the graph is rebuilt from the live vectors. Small or heavily filtered
//! searches are answered exactly by a scan over the live vectors, which is both faster and exact there.
//! Internal slot numbers never leave this module: callers see [`ChunkId`]s.
//!
//! On disk (`dir/`): `graph.hnsw.graph` and `graph.hnsw.data` (hnsw_rs dump), `slots.bin` (slot table
//! and vectors) and `meta.json` (sequence number, counts and a checksum of the other files), written to a
//! fresh folder and swapped in by rename. Files that fail the checksum or fail to load are never trusted:
//! the index starts empty and reconciliation refills it from the store.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::api::AnnT;
use hnsw_rs::hnsw::Hnsw;
use hnsw_rs::hnswio::HnswIo;
use std::collections::HashSet;

use throughline_core::{ChunkId, DocId, IndexedChunk, PageType, SearchFilters, SourceId};

use crate::SearchError;

const MAX_CONNECTIONS: usize = 16;
const EF_CONSTRUCTION: usize = 128;
const MAX_LAYERS: usize = 16;
const BASENAME: &str = "graph";
const FORMAT_VERSION: u32 = 1;
/// Bytes of a slot record before its vector: chunk, document and source ids, page type, live flag.
const SLOT_HEADER: usize = 8 + 8 + 8 + 1 + 1;
/// Below this many candidate vectors a search is an exact scan instead of a graph walk.
pub const EXACT_SCAN_BELOW: usize = 4096;

/// Cosine distance for unit vectors: `1 - dot`, clamped at 0 (rounding can push a dot product past 1).
#[derive(Default, Clone, Copy)]
pub struct UnitCosine;

/// Dot product with several accumulators so the compiler vectorises it.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = a.len() / 8;
    for i in 0..chunks {
        for j in 0..8 {
            acc[j] += a[i * 8 + j] * b[i * 8 + j];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for i in chunks * 8..a.len().min(b.len()) {
        s += a[i] * b[i];
    }
    s
}

impl Distance<f32> for UnitCosine {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        (1.0 - dot(va, vb)).max(0.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Slot {
    chunk: ChunkId,
    doc: DocId,
    source: SourceId,
    page_type: PageType,
    live: bool,
}

struct Inner {
    hnsw: Hnsw<'static, f32, UnitCosine>,
    slots: Vec<Slot>,
    vectors: Vec<f32>,
    by_chunk: HashMap<ChunkId, u32>,
    seq: u64,
    dirty: bool,
}

impl Inner {
    fn empty(capacity: usize) -> Self {
        Self {
            hnsw: new_graph(capacity),
            slots: Vec::new(),
            vectors: Vec::new(),
            by_chunk: HashMap::new(),
            seq: 0,
            dirty: true,
        }
    }

    fn live(&self) -> usize {
        self.by_chunk.len()
    }
}

fn new_graph(capacity: usize) -> Hnsw<'static, f32, UnitCosine> {
    Hnsw::new(MAX_CONNECTIONS, capacity.max(1024), MAX_LAYERS, EF_CONSTRUCTION, UnitCosine)
}

/// The vector index of one knowledge base.
pub struct VectorIndex {
    dir: PathBuf,
    dim: usize,
    inner: RwLock<Inner>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    version: u32,
    seq: u64,
    dim: usize,
    slots: usize,
    checksum: String,
}

fn io(path: &Path, e: impl std::fmt::Display) -> SearchError {
    SearchError::Vectors { path: path.to_path_buf(), reason: e.to_string() }
}

fn checksum(dir: &Path) -> Result<String, SearchError> {
    let mut h = blake3::Hasher::new();
    for name in ["slots.bin", "graph.hnsw.graph", "graph.hnsw.data"] {
        let p = dir.join(name);
        let bytes = std::fs::read(&p).map_err(|e| io(&p, e))?;
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().to_hex().to_string())
}

fn page_code(p: PageType) -> u8 {
    PageType::ALL.iter().position(|x| *x == p).unwrap_or(PageType::ALL.len() - 1) as u8
}

impl VectorIndex {
    /// Opens the index persisted in `dir` (or an empty one). The second value is true when files were
    /// missing, corrupt or incompatible and the index starts empty.
    pub fn open(dir: &Path, dim: usize) -> (Self, bool) {
        let (inner, fresh) = match Self::load(dir, dim) {
            Ok(inner) => (inner, false),
            Err(e) => {
                if dir.join("meta.json").exists() {
                    tracing::warn!(error = %e, "vector index unusable, it will be rebuilt from the store");
                }
                (Inner::empty(1024), true)
            }
        };
        (Self { dir: dir.to_path_buf(), dim, inner: RwLock::new(inner) }, fresh)
    }

    fn load(dir: &Path, dim: usize) -> Result<Inner, SearchError> {
        let meta_path = dir.join("meta.json");
        let meta: Meta = serde_json::from_slice(&std::fs::read(&meta_path).map_err(|e| io(&meta_path, e))?)
            .map_err(|e| io(&meta_path, e))?;
        if meta.version != FORMAT_VERSION || meta.dim != dim {
            return Err(io(&meta_path, "format version or dimension changed"));
        }
        if meta.slots == 0 {
            // An emptied index is persisted as its meta file alone (hnsw_rs cannot dump an empty graph).
            let mut inner = Inner::empty(1024);
            inner.seq = meta.seq;
            inner.dirty = false;
            return Ok(inner);
        }
        if checksum(dir)? != meta.checksum {
            return Err(io(dir, "checksum mismatch (truncated or corrupt files)"));
        }
        let slots_path = dir.join("slots.bin");
        let bytes = std::fs::read(&slots_path).map_err(|e| io(&slots_path, e))?;
        let rec = SLOT_HEADER + 4 * dim;
        if bytes.len() != meta.slots * rec {
            return Err(io(&slots_path, "size does not match the slot count"));
        }
        let mut slots = Vec::with_capacity(meta.slots);
        let mut vectors = Vec::with_capacity(meta.slots * dim);
        let mut by_chunk = HashMap::new();
        for (i, r) in bytes.chunks_exact(rec).enumerate() {
            let u = |o: usize| u64::from_le_bytes(r[o..o + 8].try_into().unwrap_or([0; 8]));
            let slot = Slot {
                chunk: ChunkId::from_raw(u(0)),
                doc: DocId::from_raw(u(8)),
                source: SourceId::from_raw(u(16)),
                page_type: PageType::ALL.get(r[24] as usize).copied().unwrap_or(PageType::Other),
                live: r[25] == 1,
            };
            if slot.live {
                by_chunk.insert(slot.chunk, i as u32);
            }
            slots.push(slot);
            vectors.extend(r[SLOT_HEADER..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        }
        // hnsw_rs's loader may panic on files it does not expect; the checksum makes that unlikely, and
        // catching the unwind keeps a bad file from taking the process down.
        let dir_owned = dir.to_path_buf();
        let loaded = std::panic::catch_unwind(move || {
            // The loaded graph borrows its loader; the loader is a few paths and flags, leaked once per open.
            let loader: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&dir_owned, BASENAME)));
            loader.load_hnsw::<f32, UnitCosine>().map_err(|e| e.to_string())
        });
        let hnsw = match loaded {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => return Err(io(dir, e)),
            Err(_) => return Err(io(dir, "graph loader panicked")),
        };
        if hnsw.get_nb_point() != slots.len() {
            return Err(io(dir, "graph and slot table disagree"));
        }
        Ok(Inner { hnsw, slots, vectors, by_chunk, seq: meta.seq, dirty: false })
    }

    /// The store batch the index contains.
    pub fn applied_seq(&self) -> u64 {
        self.read().seq
    }

    /// Live vectors.
    pub fn len(&self) -> usize {
        self.read().live()
    }

    /// Whether no vector is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live chunk ids.
    pub fn chunk_ids(&self) -> Vec<ChunkId> {
        self.read().by_chunk.keys().copied().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Removes chunks (of deleted documents or by id), adds new ones (replacing same ids) and records `seq`.
    pub fn apply(
        &self,
        seq: u64,
        delete_docs: &HashSet<DocId>,
        delete_chunks: &HashSet<ChunkId>,
        upserts: &[IndexedChunk],
    ) -> Result<(), SearchError> {
        for c in upserts {
            if c.vector.len() != self.dim {
                return Err(SearchError::Dimension { expected: self.dim, found: c.vector.len() });
            }
        }
        let mut inner = self.write();
        let doomed: Vec<ChunkId> = if delete_docs.is_empty() && delete_chunks.is_empty() {
            Vec::new()
        } else {
            let slots = &inner.slots;
            inner
                .by_chunk
                .iter()
                .filter(|(c, s)| delete_chunks.contains(c) || delete_docs.contains(&slots[**s as usize].doc))
                .map(|(c, _)| *c)
                .collect()
        };
        for c in doomed.iter().chain(upserts.iter().map(|u| &u.id)) {
            if let Some(slot) = inner.by_chunk.remove(c) {
                inner.slots[slot as usize].live = false;
            }
        }
        let start = inner.slots.len();
        for c in upserts {
            let slot = inner.slots.len() as u32;
            inner.slots.push(Slot {
                chunk: c.id,
                doc: c.doc_id,
                source: c.source_id,
                page_type: c.page_type,
                live: true,
            });
            inner.vectors.extend_from_slice(&c.vector);
            inner.by_chunk.insert(c.id, slot);
        }
        let batch: Vec<(&Vec<f32>, usize)> = upserts.iter().enumerate().map(|(i, c)| (&c.vector, start + i)).collect();
        if batch.len() > 1 {
            inner.hnsw.parallel_insert(&batch);
        } else if let Some((v, id)) = batch.first() {
            inner.hnsw.insert((v.as_slice(), *id));
        }
        inner.seq = seq;
        inner.dirty = true;
        let dead = inner.slots.len() - inner.live();
        if dead > 1000 && dead * 3 > inner.slots.len() {
            self.compact(&mut inner);
        }
        Ok(())
    }

    /// Rebuilds the graph from the live vectors, dropping tombstones.
    fn compact(&self, inner: &mut Inner) {
        let dim = self.dim;
        let mut fresh = Inner::empty(inner.live());
        fresh.seq = inner.seq;
        for (i, s) in inner.slots.iter().enumerate() {
            if s.live {
                let slot = fresh.slots.len() as u32;
                fresh.slots.push(*s);
                fresh.vectors.extend_from_slice(&inner.vectors[i * dim..(i + 1) * dim]);
                fresh.by_chunk.insert(s.chunk, slot);
            }
        }
        let rows: Vec<Vec<f32>> = fresh.vectors.chunks_exact(dim).map(|c| c.to_vec()).collect();
        let batch: Vec<(&Vec<f32>, usize)> = rows.iter().enumerate().map(|(i, v)| (v, i)).collect();
        fresh.hnsw.parallel_insert(&batch);
        *inner = fresh;
    }

    /// Top `k` live chunks by cosine similarity to `query` that pass `filters`, best first.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filters: &SearchFilters,
    ) -> Result<Vec<(ChunkId, f32)>, SearchError> {
        if query.len() != self.dim {
            return Err(SearchError::Dimension { expected: self.dim, found: query.len() });
        }
        let inner = self.read();
        let k = k.max(1);
        let passes = |s: &Slot| s.live && filters.accepts(s.page_type, s.source);
        let unfiltered = filters.page_types.is_empty() && filters.sources.is_empty();
        let candidates = if unfiltered { inner.live() } else { inner.slots.iter().filter(|s| passes(s)).count() };
        if candidates < EXACT_SCAN_BELOW {
            let mut scored: Vec<(ChunkId, f32)> = inner
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| passes(s))
                .map(|(i, s)| (s.chunk, dot(query, &inner.vectors[i * self.dim..(i + 1) * self.dim])))
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1));
            scored.truncate(k);
            return Ok(scored);
        }
        let filter = |id: &usize| inner.slots.get(*id).is_some_and(passes);
        let found = inner.hnsw.search_filter(query, k, ef.max(k), Some(&filter));
        Ok(found
            .into_iter()
            .filter_map(|n| inner.slots.get(n.d_id).filter(|s| passes(s)).map(|s| (s.chunk, 1.0 - n.distance)))
            .collect())
    }

    /// Writes the index to disk if it changed since the last write.
    pub fn persist(&self) -> Result<(), SearchError> {
        let mut inner = self.write();
        if !inner.dirty {
            return Ok(());
        }
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        let tmp = parent.join("vectors.tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
        if inner.slots.is_empty() {
            let meta =
                Meta { version: FORMAT_VERSION, seq: inner.seq, dim: self.dim, slots: 0, checksum: String::new() };
            let meta_path = tmp.join("meta.json");
            std::fs::write(&meta_path, serde_json::to_vec(&meta).map_err(|e| io(&meta_path, e))?)
                .map_err(|e| io(&meta_path, e))?;
            self.swap_in(&tmp)?;
            inner.dirty = false;
            return Ok(());
        }
        inner.hnsw.file_dump(&tmp, BASENAME).map_err(|e| io(&tmp, e))?;
        let slots_path = tmp.join("slots.bin");
        {
            let f = std::fs::File::create(&slots_path).map_err(|e| io(&slots_path, e))?;
            let mut w = std::io::BufWriter::new(f);
            for (i, s) in inner.slots.iter().enumerate() {
                w.write_all(&s.chunk.get().to_le_bytes()).map_err(|e| io(&slots_path, e))?;
                w.write_all(&s.doc.get().to_le_bytes()).map_err(|e| io(&slots_path, e))?;
                w.write_all(&s.source.get().to_le_bytes()).map_err(|e| io(&slots_path, e))?;
                w.write_all(&[page_code(s.page_type), s.live as u8]).map_err(|e| io(&slots_path, e))?;
                for x in &inner.vectors[i * self.dim..(i + 1) * self.dim] {
                    w.write_all(&x.to_le_bytes()).map_err(|e| io(&slots_path, e))?;
                }
            }
            w.into_inner().map_err(|e| io(&slots_path, e))?.sync_all().map_err(|e| io(&slots_path, e))?;
        }
        let meta = Meta {
            version: FORMAT_VERSION,
            seq: inner.seq,
            dim: self.dim,
            slots: inner.slots.len(),
            checksum: checksum(&tmp)?,
        };
        let meta_path = tmp.join("meta.json");
        std::fs::write(&meta_path, serde_json::to_vec(&meta).map_err(|e| io(&meta_path, e))?)
            .map_err(|e| io(&meta_path, e))?;
        self.swap_in(&tmp)?;
        inner.dirty = false;
        Ok(())
    }

    /// Replaces the index folder with `tmp` by renames, so a reader never sees a half-written folder.
    fn swap_in(&self, tmp: &Path) -> Result<(), SearchError> {
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        let old = parent.join("vectors.old");
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
        }
        if self.dir.exists() {
            std::fs::rename(&self.dir, &old).map_err(|e| io(&self.dir, e))?;
        }
        std::fs::rename(tmp, &self.dir).map_err(|e| io(&self.dir, e))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random unit vectors (xorshift), so the test needs no extra crate.
    fn vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut s = seed | 1;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        (0..n)
            .map(|_| {
                let v: Vec<f32> = (0..dim).map(|_| next()).collect();
                let n = dot(&v, &v).sqrt();
                v.into_iter().map(|x| x / n).collect()
            })
            .collect()
    }

    fn chunk(i: usize, v: Vec<f32>) -> IndexedChunk {
        IndexedChunk {
            id: ChunkId::from_raw(i as u64 + 1),
            doc_id: DocId::from_raw(i as u64 / 2 + 1),
            source_id: SourceId::from_raw(if i.is_multiple_of(2) { 7 } else { 8 }),
            path: format!("p{i}"),
            url: None,
            title: String::new(),
            heading_path: vec![],
            text: String::new(),
            page_type: if i.is_multiple_of(10) { PageType::Pricing } else { PageType::Docs },
            ordinal: 0,
            vector: v,
        }
    }

    #[test]
    fn hnsw_top_k_agrees_with_brute_force() {
        let dim = 32;
        let data = vectors(6000, dim, 42);
        let dir = tempfile::tempdir().unwrap();
        let (idx, fresh) = VectorIndex::open(&dir.path().join("vectors"), dim);
        assert!(fresh);
        let chunks: Vec<IndexedChunk> = data.iter().cloned().enumerate().map(|(i, v)| chunk(i, v)).collect();
        idx.apply(1, &HashSet::new(), &HashSet::new(), &chunks).unwrap();
        let queries = vectors(50, dim, 7);
        let mut hits = 0;
        for q in &queries {
            let got: Vec<ChunkId> =
                idx.search(q, 10, 128, &SearchFilters::default()).unwrap().into_iter().map(|x| x.0).collect();
            let mut exact: Vec<(usize, f32)> = data.iter().enumerate().map(|(i, v)| (i, dot(q, v))).collect();
            exact.sort_by(|a, b| b.1.total_cmp(&a.1));
            for (i, _) in exact.iter().take(10) {
                if got.contains(&ChunkId::from_raw(*i as u64 + 1)) {
                    hits += 1;
                }
            }
        }
        let recall = hits as f32 / 500.0;
        assert!(recall >= 0.9, "recall@10 {recall}");
    }

    #[test]
    fn tombstones_filters_and_persistence() {
        let dim = 16;
        let data = vectors(100, dim, 3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors");
        let (idx, _) = VectorIndex::open(&path, dim);
        let chunks: Vec<IndexedChunk> = data.iter().cloned().enumerate().map(|(i, v)| chunk(i, v)).collect();
        idx.apply(1, &HashSet::new(), &HashSet::new(), &chunks).unwrap();
        // The nearest neighbour of a stored vector is itself...
        let top = idx.search(&data[5], 1, 64, &SearchFilters::default()).unwrap();
        assert_eq!(top[0].0, ChunkId::from_raw(6));
        assert!((top[0].1 - 1.0).abs() < 1e-5);
        // ...until it is deleted.
        idx.apply(2, &HashSet::new(), &HashSet::from([ChunkId::from_raw(6)]), &[]).unwrap();
        let top = idx.search(&data[5], 3, 64, &SearchFilters::default()).unwrap();
        assert!(top.iter().all(|x| x.0 != ChunkId::from_raw(6)));
        // Filters: only pricing chunks (every 10th).
        let f = SearchFilters { page_types: vec![PageType::Pricing], sources: vec![] };
        let top = idx.search(&data[3], 20, 64, &f).unwrap();
        assert_eq!(top.len(), 10);
        assert!(top.iter().all(|x| (x.0.get() - 1).is_multiple_of(10)));
        idx.persist().unwrap();
        let (again, fresh) = VectorIndex::open(&path, dim);
        assert!(!fresh);
        assert_eq!(again.applied_seq(), 2);
        assert_eq!(again.len(), 99);
        assert_eq!(again.search(&data[7], 1, 64, &SearchFilters::default()).unwrap()[0].0, ChunkId::from_raw(8));
        // Deleting a document removes all its chunks (chunks 8 and 9 belong to document 5).
        again.apply(3, &HashSet::from([DocId::from_raw(5)]), &HashSet::new(), &[]).unwrap();
        assert_eq!(again.len(), 97);
    }

    #[test]
    fn an_emptied_index_persists_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors");
        let (idx, _) = VectorIndex::open(&path, 4);
        idx.persist().unwrap();
        let chunks: Vec<IndexedChunk> = vectors(3, 4, 5).into_iter().enumerate().map(|(i, v)| chunk(i, v)).collect();
        idx.apply(1, &HashSet::new(), &HashSet::new(), &chunks).unwrap();
        idx.persist().unwrap();
        let all: HashSet<ChunkId> = chunks.iter().map(|c| c.id).collect();
        idx.apply(2, &HashSet::new(), &all, &[]).unwrap();
        idx.persist().unwrap();
        let (again, fresh) = VectorIndex::open(&path, 4);
        assert!(!fresh);
        assert_eq!((again.len(), again.applied_seq()), (0, 2));
    }

    #[test]
    fn corrupt_files_are_rebuilt_not_trusted() {
        let dim = 8;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors");
        let (idx, _) = VectorIndex::open(&path, dim);
        let chunks: Vec<IndexedChunk> = vectors(20, dim, 9).into_iter().enumerate().map(|(i, v)| chunk(i, v)).collect();
        idx.apply(4, &HashSet::new(), &HashSet::new(), &chunks).unwrap();
        idx.persist().unwrap();
        let graph = path.join("graph.hnsw.graph");
        let len = std::fs::metadata(&graph).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&graph).unwrap();
        f.set_len(len / 2).unwrap();
        let (again, fresh) = VectorIndex::open(&path, dim);
        assert!(fresh);
        assert_eq!(again.len(), 0);
        assert_eq!(again.applied_seq(), 0);
    }
}
