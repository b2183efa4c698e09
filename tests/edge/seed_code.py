"""The seed's two functions as its text gives them, and the one change allowed: the line
breaks the text lost, restored where each `//` comment ends.

seed-code.txt holds the two code lines exactly as they stand in the seed document
(shared/seeds/000_f03a939c4fa52233.txt, lines 36 and 80, minus the list text after the
last `}`). Every `//` comment of the sketch runs to the end of its line, so without the
breaks the first comment would swallow the whole function; with them, and nothing else,
the code is the blog's.
"""

from __future__ import annotations

from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "seed_walkthrough"
SEED_DOCUMENT = Path("/work/shared/seeds/000_f03a939c4fa52233.txt")

# Each comment's full text, in order. A break goes where one ends (the space after it).
CLOUDFRONT_COMMENTS = (
    "// This is the new module introduced which provides functions to modify origin",
    "// Customer tier is passed in the request in the query string. Key name is: CTIER",
    "// Input validation",
    "// In production, implement robust validation, potentially storing valid tiers in "
    "KeyValueStore for easier management and updates",
    "// Or handle invalid tier as appropriate",
    "// Maintain basic tier requests to default origin",
    "// Depending on requirements, you might want to throw the error or handle it differently",
    "// Dummy function for customer tier validation",
)
LAMBDA_COMMENTS = (
    "//parse request body",
    "//Extract tenant and account id",
    "// Input validation",
    "// In production, implement thorough validation here, including regex checks if necessary",
    "//Determine the backend origin",
    "//update cloudfront request; remember to update all parameters even if you are not "
    "changing them",
    "//update host header",
    "// Dummy function for input validation",
    "// Placeholder for input validation logic",
)


def raw_code() -> tuple[str, str]:
    cloudfront, lambda_edge = (FIXTURE / "seed-code.txt").read_text().splitlines()
    return cloudfront, lambda_edge


def restore(raw: str, comments: tuple[str, ...]) -> str:
    """`raw` with the space after each comment turned into a line break (plus the file's
    final newline); every comment must occur exactly once, and `//` nowhere else."""
    assert raw.count("//") == len(comments), "a comment is missing from the list"
    out = raw
    for comment in comments:
        assert out.count(comment + " ") == 1, comment
        out = out.replace(comment + " ", comment + "\n")
    return out + "\n"


def restored() -> tuple[str, str]:
    cloudfront, lambda_edge = raw_code()
    return restore(cloudfront, CLOUDFRONT_COMMENTS), restore(lambda_edge, LAMBDA_COMMENTS)


if __name__ == "__main__":  # writes the fixture's two source files
    cf, lam = restored()
    (FIXTURE / "edge_functions/tier-router/index.js").write_text(cf)
    (FIXTURE / "edge_functions/tenant-router/index.mjs").write_text(lam)
