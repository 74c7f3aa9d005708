# notes: Deutsch
nothing-to-remember = nichts zu merken; so geht's: /remember <Schlüssel> <Text>
too-long = eine Notiz hat höchstens { $max } Bytes
bad-key = ein Schlüssel ist ein Wort mit höchstens { $max } Bytes, ohne `/`
remembered = `{ $key }` gemerkt.
unknown = Zu `{ $key }` weiß ich nichts.
forgot = `{ $key }` vergessen.
empty = Noch keine Notizen. Leg eine an mit /remember <Schlüssel> <Text>.
title = 📒 Notizen ({ $count })
more = und { $more } weitere; /recall <Schlüssel> zeigt eine
