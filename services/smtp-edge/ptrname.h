/* ptrname.h - does a client's PTR name look generic, i.e. named after its address by the
 * network that owns it ("127-30-2-11.dyn.isp.example", "c-73-12-1-9.hsd1.example",
 * "11.2.30.127.static.example", "ip7f1e020b.example") rather than chosen for a mail server?
 *
 * A generic name is a weak fact (issue 19): most such hosts are end users' machines and
 * cloud instances nobody named, the very places botnets and throwaway senders send from,
 * but a real server can have one too. smtp-edge adds it as the "ptr generic" finding with
 * CLEMENT_REP_PTR_GENERIC_WEIGHT, which by default only tips a client that a list already
 * names over the threshold (postscreen's way of adding weak evidence). Pure function, no I/O. */
#ifndef CLEMENT_EDGE_PTRNAME_H
#define CLEMENT_EDGE_PTRNAME_H

/* ptrname_generic - 1 when name (a PTR name, maybe with a trailing dot) carries the four
 * octets of the IPv4 address ip as separate numbers, in order or reversed, or the address as
 * 8 hex digits; 0 otherwise, and for IPv6 and anything unparsable. */
int ptrname_generic(const char *ip, const char *name);

#endif
