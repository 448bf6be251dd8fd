"""Binary built-ins that PostgreSQL 15 lacks, as PL/pgSQL support functions created with the object that uses them:

- DECOMPRESS(x) → public.dbshift_decompress(x): GZIP (RFC 1952) around DEFLATE (RFC 1951), as T-SQL documents
  DECOMPRESS ("decompresses an input expression value, using the Gzip algorithm";
  learn.microsoft.com/sql/t-sql/functions/decompress-transact-sql); NULL when the input is not GZIP data.
  (COMPRESS stays reported: its output bytes are SQL Server's own DEFLATE encoding.)
- CAST(<varbinary> AS nvarchar/nchar) of such a value → public.dbshift_utf16le_text(x): T-SQL reads the bytes as
  nvarchar's UTF-16LE code units (PostgreSQL's convert_from has no UTF-16).

The functions are written CREATE OR REPLACE into the object's PostgreSQL text before the object itself
(rules.convert_object), so every object that uses one stands alone in deploy.sql and in verification.
"""

from __future__ import annotations

from dbshift.convert.model import Context

DECOMPRESS_SQL = """CREATE OR REPLACE FUNCTION public.dbshift_inflate_bits(src bytea, pos bigint, n integer)
RETURNS integer LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
-- n bits from bit position pos, least significant first (get_bit numbers the bits of a byte from the right, which
-- is DEFLATE's order: RFC 1951 3.1.1)
DECLARE
    v integer := 0;
BEGIN
    FOR k IN 0..n - 1 LOOP
        v := v | (get_bit(src, pos + k) << k);
    END LOOP;
    RETURN v;
END
$f$;

CREATE OR REPLACE FUNCTION public.dbshift_inflate_table(lengths integer[]) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
-- canonical Huffman table (RFC 1951 3.2.2) from code lengths: 16 counts per length 0..15, then the symbols
DECLARE
    counts integer[] := array_fill(0, ARRAY[16]);
    offs integer[] := array_fill(0, ARRAY[16]);
    syms integer[] := array_fill(0, ARRAY[GREATEST(cardinality(lengths), 1)]);
BEGIN
    FOR s IN 1..cardinality(lengths) LOOP
        counts[lengths[s] + 1] := counts[lengths[s] + 1] + 1;
    END LOOP;
    FOR len IN 1..14 LOOP
        offs[len + 2] := offs[len + 1] + counts[len + 1];
    END LOOP;
    FOR s IN 1..cardinality(lengths) LOOP
        IF lengths[s] <> 0 THEN
            syms[offs[lengths[s] + 1] + 1] := s - 1;
            offs[lengths[s] + 1] := offs[lengths[s] + 1] + 1;
        END IF;
    END LOOP;
    RETURN counts || syms;
END
$f$;

CREATE OR REPLACE FUNCTION public.dbshift_inflate_symbol(src bytea, pos bigint, tab integer[]) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
-- the next Huffman-coded symbol at bit position pos: {symbol, position after it}
DECLARE
    code integer := 0;
    first integer := 0;
    idx integer := 0;
    cnt integer;
BEGIN
    FOR len IN 1..15 LOOP
        code := code | get_bit(src, pos);
        pos := pos + 1;
        cnt := tab[len + 1];
        IF code - cnt < first THEN
            RETURN ARRAY[tab[16 + idx + (code - first) + 1], pos];
        END IF;
        idx := idx + cnt;
        first := (first + cnt) << 1;
        code := code << 1;
    END LOOP;
    RAISE EXCEPTION 'invalid deflate data';
END
$f$;

CREATE OR REPLACE FUNCTION public.dbshift_decompress(src bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
-- T-SQL DECOMPRESS: GZIP (RFC 1952) around DEFLATE (RFC 1951); NULL when src is not GZIP data (a bad header,
-- code, length or CRC32)
DECLARE
    hdr integer := 10;
    flg integer;
    p bigint;
    o integer[] := '{}';
    olen integer := 0;
    final integer;
    btype integer;
    n integer;
    lit integer[];
    dst integer[];
    cl integer[];
    lengths integer[];
    nlen integer;
    ndist integer;
    ncode integer;
    r integer[];
    sym integer;
    rep integer;
    prev integer;
    dist integer;
    i integer;
    lbase integer[] := '{3,4,5,6,7,8,9,10,11,13,15,17,19,23,27,31,35,43,51,59,67,83,99,115,131,163,195,227,258}';
    lext integer[] := '{0,0,0,0,0,0,0,0,1,1,1,1,2,2,2,2,3,3,3,3,4,4,4,4,5,5,5,5,0}';
    dbase integer[] := '{1,2,3,4,5,7,9,13,17,25,33,49,65,97,129,193,257,385,513,769,1025,1537,2049,3073,4097,'
                       '6145,8193,12289,16385,24577}';
    dext integer[] := '{0,0,0,0,1,1,2,2,3,3,4,4,5,5,6,6,7,7,8,8,9,9,10,10,11,11,12,12,13,13}';
    crc bigint;
    clorder integer[] := '{16,17,18,0,8,7,9,6,10,5,11,4,12,3,13,2,14,1,15}';
BEGIN
    IF length(src) < 18 OR get_byte(src, 0) <> 31 OR get_byte(src, 1) <> 139 OR get_byte(src, 2) <> 8 THEN
        RETURN NULL;
    END IF;
    flg := get_byte(src, 3);
    IF flg & 4 <> 0 THEN  -- FEXTRA
        hdr := hdr + 2 + get_byte(src, hdr) + 256 * get_byte(src, hdr + 1);
    END IF;
    IF flg & 8 <> 0 THEN  -- FNAME
        WHILE get_byte(src, hdr) <> 0 LOOP hdr := hdr + 1; END LOOP;
        hdr := hdr + 1;
    END IF;
    IF flg & 16 <> 0 THEN  -- FCOMMENT
        WHILE get_byte(src, hdr) <> 0 LOOP hdr := hdr + 1; END LOOP;
        hdr := hdr + 1;
    END IF;
    IF flg & 2 <> 0 THEN  -- FHCRC
        hdr := hdr + 2;
    END IF;
    p := 8 * hdr;  -- the DEFLATE stream's first bit
    LOOP
        final := get_bit(src, p);
        btype := public.dbshift_inflate_bits(src, p + 1, 2);
        p := p + 3;
        IF btype = 0 THEN  -- stored
            p := ((p + 7) / 8) * 8;  -- to the next byte boundary
            n := public.dbshift_inflate_bits(src, p, 16);
            IF n # 65535 <> public.dbshift_inflate_bits(src, p + 16, 16) THEN  -- NLEN: LEN's one's complement
                RETURN NULL;
            END IF;
            p := p + 32;
            FOR k IN 1..n LOOP
                olen := olen + 1;
                o[olen] := public.dbshift_inflate_bits(src, p, 8);
                p := p + 8;
            END LOOP;
        ELSE
            IF btype = 1 THEN  -- fixed Huffman codes
                lengths := array_fill(8, ARRAY[144]) || array_fill(9, ARRAY[112]) || array_fill(7, ARRAY[24])
                           || array_fill(8, ARRAY[8]);
                lit := public.dbshift_inflate_table(lengths);
                dst := public.dbshift_inflate_table(array_fill(5, ARRAY[30]));
            ELSIF btype = 2 THEN  -- dynamic Huffman codes
                nlen := public.dbshift_inflate_bits(src, p, 5) + 257;
                ndist := public.dbshift_inflate_bits(src, p + 5, 5) + 1;
                ncode := public.dbshift_inflate_bits(src, p + 10, 4) + 4;
                p := p + 14;
                lengths := array_fill(0, ARRAY[19]);
                FOR k IN 1..ncode LOOP
                    lengths[clorder[k] + 1] := public.dbshift_inflate_bits(src, p, 3);
                    p := p + 3;
                END LOOP;
                cl := public.dbshift_inflate_table(lengths);
                lengths := array_fill(0, ARRAY[nlen + ndist]);
                i := 0;
                WHILE i < nlen + ndist LOOP
                    r := public.dbshift_inflate_symbol(src, p, cl);
                    sym := r[1];
                    p := r[2];
                    IF sym < 16 THEN
                        i := i + 1;
                        lengths[i] := sym;
                    ELSE
                        IF sym = 16 THEN
                            IF i = 0 THEN RETURN NULL; END IF;
                            prev := lengths[i];
                            rep := 3 + public.dbshift_inflate_bits(src, p, 2);
                            p := p + 2;
                        ELSIF sym = 17 THEN
                            prev := 0;
                            rep := 3 + public.dbshift_inflate_bits(src, p, 3);
                            p := p + 3;
                        ELSE
                            prev := 0;
                            rep := 11 + public.dbshift_inflate_bits(src, p, 7);
                            p := p + 7;
                        END IF;
                        FOR k IN 1..rep LOOP
                            i := i + 1;
                            lengths[i] := prev;
                        END LOOP;
                    END IF;
                END LOOP;
                lit := public.dbshift_inflate_table(lengths[1:nlen]);
                dst := public.dbshift_inflate_table(lengths[nlen + 1:nlen + ndist]);
            ELSE
                RETURN NULL;
            END IF;
            LOOP
                r := public.dbshift_inflate_symbol(src, p, lit);
                sym := r[1];
                p := r[2];
                EXIT WHEN sym = 256;
                IF sym < 256 THEN
                    olen := olen + 1;
                    o[olen] := sym;
                ELSE
                    sym := sym - 257;
                    n := lbase[sym + 1]
                         + public.dbshift_inflate_bits(src, p, lext[sym + 1]);
                    p := p + lext[sym + 1];
                    r := public.dbshift_inflate_symbol(src, p, dst);
                    sym := r[1];
                    p := r[2];
                    dist := dbase[sym + 1]
                            + public.dbshift_inflate_bits(src, p, dext[sym + 1]);
                    p := p + dext[sym + 1];
                    IF dist > olen THEN RETURN NULL; END IF;
                    FOR k IN 1..n LOOP
                        olen := olen + 1;
                        o[olen] := o[olen - dist];
                    END LOOP;
                END IF;
            END LOOP;
        END IF;
        EXIT WHEN final = 1;
    END LOOP;
    -- ISIZE (the trailer's last 4 bytes): the uncompressed length modulo 2^32
    IF olen::bigint % 4294967296 <> get_byte(src, length(src) - 4) + 256 * get_byte(src, length(src) - 3)
        + 65536 * get_byte(src, length(src) - 2) + 16777216::bigint * get_byte(src, length(src) - 1) THEN
        RETURN NULL;
    END IF;
    -- CRC32 (the trailer's first 4 bytes) of the uncompressed data, RFC 1952 8
    crc := 4294967295;
    FOR k IN 1..olen LOOP
        crc := crc # o[k];
        FOR j IN 1..8 LOOP
            crc := CASE WHEN crc & 1 = 1 THEN (crc >> 1) # 3988292384 ELSE crc >> 1 END;
        END LOOP;
    END LOOP;
    IF crc # 4294967295 <> get_byte(src, length(src) - 8) + 256 * get_byte(src, length(src) - 7)
        + 65536 * get_byte(src, length(src) - 6) + 16777216::bigint * get_byte(src, length(src) - 5) THEN
        RETURN NULL;
    END IF;
    RETURN COALESCE((SELECT decode(string_agg(lpad(to_hex(b), 2, '0'), '' ORDER BY k), 'hex')
                     FROM unnest(o) WITH ORDINALITY AS u(b, k)), ''::bytea);
EXCEPTION
    WHEN array_subscript_error OR raise_exception OR program_limit_exceeded OR null_value_not_allowed THEN
        RETURN NULL;  -- ran past the end of the data or an invalid code: not GZIP data
END
$f$;
"""

UTF16LE_SQL = """CREATE OR REPLACE FUNCTION public.dbshift_utf16le_text(b bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
-- T-SQL CAST(varbinary AS nvarchar): the bytes are read as nvarchar's UTF-16LE code units, surrogate pairs joined.
-- NUL and unpaired surrogates, which PostgreSQL text cannot hold, raise an error (chr() refuses them), and so does
-- an odd number of bytes (what T-SQL makes of a last half code unit is not documented).
DECLARE
    chars text[] := '{}';
    n integer := 0;
    i integer := 0;
    u integer;
    lo integer;
    len integer := length(b);
BEGIN
    IF len % 2 = 1 THEN
        RAISE EXCEPTION 'CAST(varbinary AS nvarchar): % bytes are not whole UTF-16 code units', len;
    END IF;
    WHILE i < len LOOP
        u := get_byte(b, i) + 256 * get_byte(b, i + 1);
        i := i + 2;
        IF u BETWEEN 55296 AND 56319 AND i < len THEN
            lo := get_byte(b, i) + 256 * get_byte(b, i + 1);
            IF lo BETWEEN 56320 AND 57343 THEN
                u := 65536 + (u - 55296) * 1024 + (lo - 56320);
                i := i + 2;
            END IF;
        END IF;
        n := n + 1;
        chars[n] := chr(u);
    END LOOP;
    RETURN array_to_string(chars, '');
END
$f$;
"""


def use(ctx: Context, name: str) -> str:
    """Register support function `name` ("decompress" / "utf16le_text") for the object; its qualified name."""
    ctx.support[name] = DECOMPRESS_SQL if name == "decompress" else UTF16LE_SQL
    return f"public.dbshift_{name}"
