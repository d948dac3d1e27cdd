# TODO: split this module — naïve café ✓
"""A small app the reporter tests point findings at."""

import sqlite3
import subprocess


def run(cmd: str) -> int:
    """Run a shell command <and> return its exit code & output."""
    # the findings these tests invent point at the next line
    print(cmd)
    return subprocess.call([cmd])  # stands where the flagged shell=True call would be

VALUE_14 = 14
VALUE_15 = 15
VALUE_16 = 16
VALUE_17 = 17
VALUE_18 = 18
VALUE_19 = 19
VALUE_20 = 20
VALUE_21 = 21
VALUE_22 = 22
VALUE_23 = 23
VALUE_24 = 24
VALUE_25 = 25
VALUE_26 = 26
VALUE_27 = 27
VALUE_28 = 28
VALUE_29 = 29
VALUE_30 = 30
VALUE_31 = 31
VALUE_32 = 32
VALUE_33 = 33
VALUE_34 = 34
VALUE_35 = 35
VALUE_36 = 36
VALUE_37 = 37

def find(db: sqlite3.Connection, a: str) -> list[tuple[str]]:
    return db.execute("SELECT * FROM t WHERE a = ?", (a,)).fetchall()
    # </pre><script>alert('not run')</script>
