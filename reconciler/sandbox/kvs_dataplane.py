"""(scaffold: the owner of this extension replaces this module)"""


def install() -> None:
    raise NotImplementedError("extension not written yet")
