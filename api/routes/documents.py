"""`/v1/documents`: list, read (any citation can be checked), upload and delete."""
from __future__ import annotations

from fastapi import APIRouter, Depends, File, HTTPException, Path, UploadFile
from starlette.concurrency import run_in_threadpool

from api.deps import get_service
from api.schemas import DeleteResult, DocumentList, DocumentOut, ErrorResponse, UploadResult
from rag.service import RagService

router = APIRouter(prefix="/v1/documents", tags=["documents"],
                   responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}})

# Server-side paths are nobody's business over HTTP.
_PRIVATE_META = {"source_path"}
DocId = Path(..., max_length=500, description="a doc_id such as cq-sti/004_f07454981927e40f.txt")


def _meta(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if k not in _PRIVATE_META}


@router.get("", response_model=DocumentList)
def list_documents(service: RagService = Depends(get_service)):
    """Every document of the live index: id, title, length and metadata."""
    docs = service.index.documents
    return {"documents": [{"doc_id": d.id, "title": d.meta.get("title", ""), "chars": len(d.text),
                           "meta": _meta(d.meta)} for _, d in sorted(docs.items())]}


@router.get("/{doc_id:path}", response_model=DocumentOut)
def get_document(doc_id: str = DocId, service: RagService = Depends(get_service)):
    """The full text: `text[start:end]` of a citation is its quote."""
    doc = service.index.documents.get(doc_id)
    if doc is None:
        raise HTTPException(404, f"no document {doc_id!r}")
    return {"doc_id": doc.id, "title": doc.meta.get("title", ""), "text": doc.text,
            "meta": _meta(doc.meta)}


@router.post("", response_model=UploadResult, status_code=201,
             responses={400: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
                        413: {"model": ErrorResponse}})
async def upload_document(file: UploadFile = File(...),
                          service: RagService = Depends(get_service)):
    """Add (or replace) a .txt or .md file; its doc_id is `uploads/<sanitised name>`."""
    limit = service.settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"the file is over the upload limit of {limit} bytes")
    doc_id, report = await run_in_threadpool(service.add_document, file.filename or "", data)
    status = ("added" if doc_id in report.added else
              "replaced" if doc_id in report.replaced else "unchanged")
    return {"doc_id": doc_id, "status": status, "documents": report.documents,
            "chunks": report.chunks, "embedded": report.embedded}


@router.delete("/{doc_id:path}", response_model=DeleteResult,
               responses={409: {"model": ErrorResponse}})
def delete_document(doc_id: str = DocId, service: RagService = Depends(get_service)):
    """Remove a document: a new index generation without it, then an atomic swap."""
    service.delete_document(doc_id)
    index = service.index
    return {"doc_id": doc_id, "deleted": True, "documents": len(index.documents),
            "chunks": len(index.chunks)}
