# notes: English (the fallback)
nothing-to-remember = nothing to remember; usage: /remember <key> <text>
too-long = a note holds at most { $max } bytes
bad-key = a key is one word of at most { $max } bytes, without `/`
remembered = Remembered `{ $key }`.
unknown = I don't remember anything about `{ $key }`.
forgot = Forgot `{ $key }`.
empty = No notes yet. Add one with /remember <key> <text>.
title = 📒 Notes ({ $count })
more = and { $more } more; /recall <key> shows one
