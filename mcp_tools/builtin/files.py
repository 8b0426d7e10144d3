"""The `files` group: list, read, search and (when allowed) write inside the workspace."""

from __future__ import annotations

import asyncio

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from .fileops import list_dir, read_text, write_text
from .filesearch import search_text
from .workspace import Workspace

MAX_READ_LINES = 2000
PATH_HELP = (
    "Path relative to the workspace root, e.g. 'notes/todo.txt'. "
    "It must stay inside the workspace: absolute paths are refused."
)

LIST_FILES_HELP = (
    "List the files and folders in a workspace directory, with file sizes. Use it to find "
    "out what files exist before reading or searching. Folders end with '/'."
)
READ_FILE_HELP = (
    "Read a text file from the workspace. Returns the lines prefixed with their line numbers; "
    "long files come in parts, and the header says which offset to read next."
)
SEARCH_FILES_HELP = (
    "Search the text files in the workspace for a word or phrase (like grep). Returns "
    "'path:line: text' for each matching line, at most 100. Use read_file for context."
)
WRITE_FILE_HELP = (
    "Create or overwrite a text file in the workspace, or append to it. Returns how many "
    "characters were written. Only use it when the user wants a file saved."
)


class ListFilesArgs(BaseModel):
    path: str = Field(".", description="Directory relative to the workspace root; '.' is the root.")
    pattern: str | None = Field(
        None, description="Optional glob on entry names, e.g. '*.py' or 'report_*'."
    )
    recursive: bool = Field(
        False, description="true to include everything below subdirectories too."
    )


class ReadFileArgs(BaseModel):
    path: str = Field(description=PATH_HELP)
    offset: int = Field(1, ge=1, description="First line to show (1-based). Default 1.")
    limit: int = Field(
        MAX_READ_LINES, ge=1, le=MAX_READ_LINES, description="Most lines to show. Default 2000."
    )


class SearchFilesArgs(BaseModel):
    query: str = Field(description="Literal text to find (not a regex); case is ignored.")
    path: str = Field(".", description="File or directory to search in, relative to the root.")
    glob: str | None = Field(
        None, description="Optional glob limiting which files are searched, e.g. '*.md'."
    )


class WriteFileArgs(BaseModel):
    path: str = Field(description=PATH_HELP + " Missing folders are created.")
    content: str = Field(description="The full text to write (UTF-8).")
    append: bool = Field(
        False, description="true adds content to the end; false replaces the whole file."
    )


def file_tools(workspace: Workspace, budget: int, allow_write: bool) -> list[BaseTool]:
    """The file tools over `workspace`; write_file only when `allow_write`."""

    async def list_files(
        path: str = ".", pattern: str | None = None, recursive: bool = False
    ) -> str:
        return await asyncio.to_thread(list_dir, workspace, path, pattern, recursive, budget)

    async def read_file(path: str, offset: int = 1, limit: int = MAX_READ_LINES) -> str:
        return await asyncio.to_thread(read_text, workspace, path, offset, limit, budget)

    async def search_files(query: str, path: str = ".", glob: str | None = None) -> str:
        return await asyncio.to_thread(search_text, workspace, query, path, glob, budget)

    async def write_file(path: str, content: str, append: bool = False) -> str:
        return await asyncio.to_thread(write_text, workspace, path, content, append)

    tools = [
        _tool(list_files, ListFilesArgs, LIST_FILES_HELP),
        _tool(read_file, ReadFileArgs, READ_FILE_HELP),
        _tool(search_files, SearchFilesArgs, SEARCH_FILES_HELP),
    ]
    if allow_write:
        tools.append(_tool(write_file, WriteFileArgs, WRITE_FILE_HELP))
    return tools


def _tool(coroutine, args_schema: type[BaseModel], description: str) -> BaseTool:
    return StructuredTool.from_function(
        coroutine=coroutine,
        name=coroutine.__name__,
        description=description,
        args_schema=args_schema,
    )
