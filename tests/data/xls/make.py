#!/usr/bin/python3
"""Writes the old-format (BIFF8) Excel workbooks the tests read through
calamine, with xlwt (Debian: python3-xlwt), the library that wrote .xls
files for a generation of web applications' "export to Excel":

  patients.xls  a visible "Summary" sheet and a hidden "Patients" sheet of
                40 names with NHS numbers (valid check digits), a register
                sent out by mistake;
  stock.xls     one visible sheet of parts and ten-digit barcodes, numbers
                with no label that makes them personal data;
  rota.xls      a visible "Rota" sheet of 12 staff whose "NHS number"
                column is hidden (COLINFO fHidden), beside a hidden column
                with nothing in it;
  shifts.xls    the same rota without NHS numbers: a column made wider and
                a hidden column with nothing in it, no hidden data.

Run from anywhere: `/usr/bin/python3 tests/data/xls/make.py`. The files are
committed; rerun only to change them (xlwt writes no date or random bytes,
so the same script gives the same files).
"""
import os
import xlwt

HERE = os.path.dirname(os.path.abspath(__file__))


def nhs_numbers(n, base):
    """n distinct ten-digit NHS numbers from base on, valid by modulus 11."""
    out = []
    while len(out) < n:
        base += 1
        digits = [int(d) for d in str(base)]
        check = (11 - sum(d * (10 - i) for i, d in enumerate(digits)) % 11) % 11
        if check < 10:
            out.append(f"{base}{check}")
    return out


def patients():
    book = xlwt.Workbook(encoding="utf-8")
    summary = book.add_sheet("Summary")
    summary.write(0, 0, "Practice")
    summary.write(0, 1, "Patients")
    summary.write(1, 0, "Riverside")
    summary.write(1, 1, 40)
    register = book.add_sheet("Patients")
    register.visibility = 1  # BOUNDSHEET hsState 1: hidden
    for c, heading in enumerate(["Surname", "First name", "NHS number"]):
        register.write(0, c, heading)
    for i, number in enumerate(nhs_numbers(40, 943_476_000)):
        register.write(i + 1, 0, f"Surname{i}")
        register.write(i + 1, 1, "Alex")
        register.write(i + 1, 2, number)
    book.save(os.path.join(HERE, "patients.xls"))


def stock():
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Stock")
    sheet.write(0, 0, "Part")
    sheet.write(0, 1, "Barcode")
    for i, (part, code) in enumerate(
        [("Valve", "9990000018"), ("Seal", "9990000026"), ("Gasket", "9990000034")]
    ):
        sheet.write(i + 1, 0, part)
        sheet.write(i + 1, 1, code)
    book.save(os.path.join(HERE, "stock.xls"))


def rota(name, numbers):
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Rota")
    headings = ["Name", "Team", "Shift"] + (["NHS number"] if numbers else [])
    for c, heading in enumerate(headings):
        sheet.write(0, c, heading)
    for i, number in enumerate(nhs_numbers(12, 943_480_000)):
        sheet.write(i + 1, 0, f"Carer {i}")
        sheet.write(i + 1, 1, "Night" if i % 2 else "Day")
        sheet.write(i + 1, 2, f"{7 + i % 3}:00")
        if numbers:
            sheet.write(i + 1, 3, number)
    sheet.col(0).width = 256 * 30  # a COLINFO that hides nothing
    if numbers:
        sheet.col(3).hidden = True  # COLINFO options bit 0: fHidden
    sheet.col(6).hidden = True  # hidden, but nothing in it
    book.save(os.path.join(HERE, name))


patients()
stock()
rota("rota.xls", numbers=True)
rota("shifts.xls", numbers=False)
