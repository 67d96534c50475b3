"""Upload rejections. Each carries a 400 (or the status twine expects) and a
message that says what is wrong and how to fix it; twine prints it verbatim."""

from __future__ import annotations

from shared.errors import BadRequestError, ForbiddenError, GoneError


class UploadError(BadRequestError):
    """Base for every rejected upload (400)."""


class InvalidFormError(UploadError):
    """The multipart form is malformed, or a field is missing or repeated (UPL-2, UPL-4, UPL-6)."""


class InvalidFilenameError(UploadError):
    """The distribution filename breaks the naming rules (WHL-1..6, SD-1, UPL-4)."""


class InvalidArchiveError(UploadError):
    """The archive is unsafe or malformed (WHL-7, WHL-8, WHL-10..13, SD-2, SD-3, SD-5)."""


class InvalidMetadataError(UploadError):
    """The core metadata is invalid (CMD-1..11, POL-4, POL-5, VER-1, VER-4, NAM-3)."""


class MetadataMismatchError(UploadError):
    """The form, the filename and the metadata inside the artifact disagree (UPL-7, WHL-9, SD-4)."""


class DigestMismatchError(UploadError):
    """A digest the client sent does not match the bytes received (UPL-5)."""


class FileTooLargeError(UploadError):
    """The file or the project would exceed its size limit (UPL-12)."""


class FileAlreadyExistsError(UploadError):
    """A different file was already uploaded under this filename (UPL-10)."""


class FilenamePreviouslyUsedError(UploadError):
    """The filename was used once and can never be used again (POL-1)."""


class DuplicateContentError(UploadError):
    """The same bytes were already uploaded under another filename (POL-2)."""


class DuplicateSdistError(UploadError):
    """The release already has a source distribution (SD-6)."""


class ProjectNotAcceptingUploadsError(ForbiddenError):
    """The project is archived or quarantined (STS-1)."""


class RetiredActionError(GoneError):
    """A legacy ``:action`` that is no longer supported (UPL-2)."""
