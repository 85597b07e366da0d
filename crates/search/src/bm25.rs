//! The keyword index: tantivy with an English stemming analyzer on title, headings and body, and raw
//! filter fields (chunk id, document id, source, page type, path). One commit per store batch, carrying
//! the batch's sequence number as the commit payload.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED, STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use throughline_core::{ChunkId, DocId, IndexedChunk, PageType, SearchFilters, SourceId};

use crate::SearchError;

/// Terms of a query beyond this many are ignored (absurdly long queries stay fast).
pub const MAX_QUERY_TERMS: usize = 64;
/// Schema version written into the index folder; a mismatch triggers a rebuild.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Copy)]
struct Fields {
    chunk_id: Field,
    doc_id: Field,
    source_id: Field,
    page_type: Field,
    path: Field,
    url: Field,
    title: Field,
    headings: Field,
    body: Field,
    ordinal: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("en_stem")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        chunk_id: b.add_u64_field("chunk_id", INDEXED | STORED | FAST),
        doc_id: b.add_u64_field("doc_id", INDEXED | STORED | FAST),
        source_id: b.add_u64_field("source_id", INDEXED | STORED | FAST),
        page_type: b.add_text_field("page_type", STRING | STORED),
        path: b.add_text_field("path", STRING | STORED),
        url: b.add_text_field("url", STORED),
        title: b.add_text_field("title", text.clone()),
        headings: b.add_text_field("headings", text.clone()),
        body: b.add_text_field("body", text),
        ordinal: b.add_u64_field("ordinal", STORED),
    };
    (b.build(), fields)
}

/// A chunk as stored in the keyword index (everything but the vector).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredHit {
    /// Chunk id.
    pub chunk_id: ChunkId,
    /// Document id.
    pub doc_id: DocId,
    /// Source id.
    pub source_id: SourceId,
    /// Page type.
    pub page_type: PageType,
    /// Document path.
    pub path: String,
    /// Document URL.
    pub url: Option<String>,
    /// Title.
    pub title: String,
    /// Heading path.
    pub heading_path: Vec<String>,
    /// Text.
    pub text: String,
}

/// A parsed query: its analysed terms, ready to score any field and to build snippets.
pub struct ParsedQuery {
    query: Box<dyn Query>,
    /// The analysed (lowercased, stemmed) terms, deduplicated, in query order.
    pub terms: Vec<String>,
}

/// The tantivy keyword index of one knowledge base.
pub struct Bm25Index {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
    fields: Fields,
}

const HEADING_SEPARATOR: &str = " \u{203a} ";

impl Bm25Index {
    /// Opens the index in `dir`, creating it if absent. A folder holding an unreadable or incompatible
    /// index is wiped and recreated; the second value says so (the caller re-adds everything).
    pub fn open(dir: &Path) -> Result<(Self, bool), SearchError> {
        let (schema, fields) = schema();
        let version_file = dir.join("THROUGHLINE_SCHEMA");
        let expected = SCHEMA_VERSION.to_string();
        let compatible = std::fs::read_to_string(&version_file).map(|v| v.trim() == expected).unwrap_or(false);
        let existing = if compatible {
            match tantivy::directory::MmapDirectory::open(dir)
                .map_err(|e| e.to_string())
                .and_then(|d| Index::open(d).map_err(|e| e.to_string()))
            {
                Ok(index) if index.schema() == schema => Some(index),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "keyword index unreadable, rebuilding");
                    None
                }
            }
        } else {
            None
        };
        let rebuilt = existing.is_none();
        let index = match existing {
            Some(i) => i,
            None => {
                if dir.exists() {
                    std::fs::remove_dir_all(dir).map_err(|e| io_err(dir, e))?;
                }
                std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
                let index = Index::create_in_dir(dir, schema).map_err(|e| tantivy_err(dir, e))?;
                std::fs::write(&version_file, &expected).map_err(|e| io_err(&version_file, e))?;
                index
            }
        };
        let reader =
            index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(|e| tantivy_err(dir, e))?;
        Ok((Self { dir: dir.to_path_buf(), index, reader, writer: Mutex::new(None), fields }, rebuilt))
    }

    /// The store batch sequence number of the last commit (0 for a new index).
    pub fn applied_seq(&self) -> u64 {
        self.index.load_metas().ok().and_then(|m| m.payload).and_then(|p| p.trim().parse().ok()).unwrap_or(0)
    }

    /// Number of live chunks.
    pub fn len(&self) -> usize {
        self.reader.searcher().num_docs() as usize
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every live chunk id.
    pub fn chunk_ids(&self) -> Result<HashSet<ChunkId>, SearchError> {
        let searcher = self.reader.searcher();
        let mut out = HashSet::new();
        for segment in searcher.segment_readers() {
            let col = segment.fast_fields().u64("chunk_id").map_err(|e| tantivy_err(&self.dir, e))?;
            let alive = segment.alive_bitset();
            for doc in 0..segment.max_doc() {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    if let Some(v) = col.first(doc) {
                        out.insert(ChunkId::from_raw(v));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Deletes documents and chunks, adds chunks, and commits with `seq` as payload, atomically.
    pub fn apply(
        &self,
        seq: u64,
        delete_docs: &[DocId],
        delete_chunks: &[ChunkId],
        upserts: &[IndexedChunk],
    ) -> Result<(), SearchError> {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            // One indexing thread: the 2-core machine also runs the embedder; 50 MB is tantivy's sweet spot.
            let w = self.index.writer_with_num_threads(1, 50_000_000).map_err(|e| tantivy_err(&self.dir, e))?;
            *guard = Some(w);
        }
        let Some(writer) = guard.as_mut() else { unreachable!("writer was just created") };
        let f = self.fields;
        for d in delete_docs {
            writer.delete_term(Term::from_field_u64(f.doc_id, d.get()));
        }
        for c in delete_chunks {
            writer.delete_term(Term::from_field_u64(f.chunk_id, c.get()));
        }
        for c in upserts {
            writer.delete_term(Term::from_field_u64(f.chunk_id, c.id.get()));
            let mut d = doc!(
                f.chunk_id => c.id.get(),
                f.doc_id => c.doc_id.get(),
                f.source_id => c.source_id.get(),
                f.page_type => c.page_type.as_str(),
                f.path => c.path.as_str(),
                f.title => c.title.as_str(),
                f.headings => c.heading_path.join(HEADING_SEPARATOR),
                f.body => c.text.as_str(),
                f.ordinal => c.ordinal as u64,
            );
            if let Some(url) = &c.url {
                d.add_text(f.url, url);
            }
            writer.add_document(d).map_err(|e| tantivy_err(&self.dir, e))?;
        }
        let mut prepared = writer.prepare_commit().map_err(|e| tantivy_err(&self.dir, e))?;
        prepared.set_payload(&seq.to_string());
        prepared.commit().map_err(|e| tantivy_err(&self.dir, e))?;
        self.reader.reload().map_err(|e| tantivy_err(&self.dir, e))?;
        Ok(())
    }

    /// Analyses `text` into index terms and builds a BM25 query over title (×2), headings (×1.5) and body.
    /// Terms absent from the index are also matched with one typo of tolerance.
    pub fn parse(&self, text: &str) -> Result<ParsedQuery, SearchError> {
        let f = self.fields;
        let mut analyzer = self.index.tokenizer_for_field(f.body).map_err(|e| tantivy_err(&self.dir, e))?;
        let mut terms: Vec<String> = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            let t = stream.token().text.clone();
            if !terms.contains(&t) {
                terms.push(t);
            }
            if terms.len() >= MAX_QUERY_TERMS {
                break;
            }
        }
        if terms.is_empty() {
            return Err(SearchError::EmptyQuery);
        }
        let searcher = self.reader.searcher();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in &terms {
            let mut known = false;
            for (field, boost) in [(f.title, 2.0f32), (f.headings, 1.5), (f.body, 1.0)] {
                let term = Term::from_field_text(field, t);
                if searcher.doc_freq(&term).unwrap_or(0) > 0 {
                    known = true;
                }
                let q: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                clauses.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
            }
            if !known && t.chars().count() >= 5 {
                let fuzzy = FuzzyTermQuery::new(Term::from_field_text(f.body, t), 1, true);
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(fuzzy), 0.5))));
            }
        }
        Ok(ParsedQuery { query: Box::new(BooleanQuery::new(clauses)), terms })
    }

    fn filter_query(&self, filters: &SearchFilters) -> Vec<(Occur, Box<dyn Query>)> {
        let f = self.fields;
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if !filters.page_types.is_empty() {
            let any: Vec<(Occur, Box<dyn Query>)> = filters
                .page_types
                .iter()
                .map(|p| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(f.page_type, p.as_str()),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect();
            out.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if !filters.sources.is_empty() {
            let any: Vec<(Occur, Box<dyn Query>)> = filters
                .sources
                .iter()
                .map(|s| {
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(Term::from_field_u64(f.source_id, s.get()), IndexRecordOption::Basic));
                    (Occur::Should, q)
                })
                .collect();
            out.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        out
    }

    /// BM25 top `k` chunks for a parsed query under filters, best first.
    pub fn search(
        &self,
        q: &ParsedQuery,
        filters: &SearchFilters,
        k: usize,
    ) -> Result<Vec<(ChunkId, f32)>, SearchError> {
        let searcher = self.reader.searcher();
        let mut clauses = self.filter_query(filters);
        let query: Box<dyn Query> = if clauses.is_empty() {
            q.query.box_clone()
        } else {
            clauses.push((Occur::Must, q.query.box_clone()));
            Box::new(BooleanQuery::new(clauses))
        };
        let top = searcher.search(&query, &TopDocs::with_limit(k.max(1))).map_err(|e| tantivy_err(&self.dir, e))?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let col = searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .u64("chunk_id")
                .map_err(|e| tantivy_err(&self.dir, e))?;
            if let Some(id) = col.first(addr.doc_id) {
                out.push((ChunkId::from_raw(id), score));
            }
        }
        Ok(out)
    }

    /// How many chunks — or distinct documents, with `per_document` — a parsed query matches under
    /// filters; without a query, how many the filters let through.
    pub fn count(
        &self,
        q: Option<&ParsedQuery>,
        filters: &SearchFilters,
        per_document: bool,
    ) -> Result<usize, SearchError> {
        let searcher = self.reader.searcher();
        let mut clauses = self.filter_query(filters);
        let base: Box<dyn Query> = match q {
            Some(q) => q.query.box_clone(),
            None => Box::new(AllQuery),
        };
        let query: Box<dyn Query> = if clauses.is_empty() {
            base
        } else {
            clauses.push((Occur::Must, base));
            Box::new(BooleanQuery::new(clauses))
        };
        if !per_document {
            return searcher.search(&query, &Count).map_err(|e| tantivy_err(&self.dir, e));
        }
        let matches = searcher.search(&query, &DocSetCollector).map_err(|e| tantivy_err(&self.dir, e))?;
        let mut docs = HashSet::new();
        for addr in matches {
            let col = searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .u64("doc_id")
                .map_err(|e| tantivy_err(&self.dir, e))?;
            if let Some(id) = col.first(addr.doc_id) {
                docs.insert(id);
            }
        }
        Ok(docs.len())
    }

    /// Stored fields of the given chunks (ids not found are left out).
    pub fn fetch(&self, ids: &[ChunkId]) -> Result<Vec<StoredHit>, SearchError> {
        let searcher = self.reader.searcher();
        let f = self.fields;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let q = TermQuery::new(Term::from_field_u64(f.chunk_id, id.get()), IndexRecordOption::Basic);
            let top = searcher.search(&q, &TopDocs::with_limit(1)).map_err(|e| tantivy_err(&self.dir, e))?;
            let Some((_, addr)) = top.first() else { continue };
            let d: TantivyDocument = searcher.doc(*addr).map_err(|e| tantivy_err(&self.dir, e))?;
            let text = |field: Field| -> String {
                d.get_first(field).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
            };
            let num = |field: Field| -> u64 { d.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0) };
            let headings = text(f.headings);
            let url = text(f.url);
            out.push(StoredHit {
                chunk_id: *id,
                doc_id: DocId::from_raw(num(f.doc_id)),
                source_id: SourceId::from_raw(num(f.source_id)),
                page_type: text(f.page_type).parse().unwrap_or(PageType::Other),
                path: text(f.path),
                url: if url.is_empty() { None } else { Some(url) },
                title: text(f.title),
                heading_path: if headings.is_empty() {
                    Vec::new()
                } else {
                    headings.split(HEADING_SEPARATOR).map(str::to_string).collect()
                },
                text: text(f.body),
            });
        }
        Ok(out)
    }

    /// A snippet generator for `q` over the body field.
    pub fn snippets(&self, q: &ParsedQuery, max_chars: usize) -> Result<SnippetGenerator, SearchError> {
        let searcher = self.reader.searcher();
        let mut g =
            SnippetGenerator::create(&searcher, &*q.query, self.fields.body).map_err(|e| tantivy_err(&self.dir, e))?;
        g.set_max_num_chars(max_chars);
        Ok(g)
    }
}

fn tantivy_err(dir: &Path, source: tantivy::TantivyError) -> SearchError {
    SearchError::Tantivy { path: dir.to_path_buf(), source }
}

fn io_err(path: &Path, e: std::io::Error) -> SearchError {
    SearchError::Vectors { path: path.to_path_buf(), reason: e.to_string() }
}
