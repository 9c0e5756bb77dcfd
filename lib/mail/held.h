/* held.h - why a message is held in the quarantine, in its recipient's words (issue 23).
 *
 * quarantine.reason_class says which rule held it (db/migrations/0015_quarantine_reason.sql);
 * quarantine.reason may add details (a content scanner's score and symbols). The quarantine
 * digest (delivery) and the digest link pages (admin-api) say it the same way, so the text is
 * one SQL expression: CL_HELD_WHY_SQL("q.") gives '' when nothing was recorded, and never
 * contains control characters. The web UI has its own words for admins (frontend/js). */
#ifndef CL_MAIL_HELD_H
#define CL_MAIL_HELD_H

#define CL_HELD_WHY_SQL(t)                                                                                             \
	"regexp_replace(concat_ws(': ', CASE " t "reason_class WHEN 'user_rule' THEN 'your own sender rule'"           \
	" WHEN 'domain_rule' THEN 'a sender rule of your domain' WHEN 'group_rule' THEN 'a sender rule of your"        \
	" mail group' WHEN 'domain_default' THEN 'your domain holds mail from senders no rule names' WHEN 'spam'"      \
	" THEN 'spam' WHEN 'virus' THEN 'virus' END, left(" t "reason, 300)), '[[:cntrl:]]', ' ', 'g')"

#endif
