# dice: Deutsch
too-many = Ich werfe höchstens { $max } Würfel auf einmal.
not-a-roll = `{ $text }` ist kein Würfelwurf: { $why }. Schreib ihn wie 2d6, d20 oder 3d8+2.
why-no-d = es fehlt das `d`
why-count = die Zahl der Würfel muss eine ganze Zahl sein
why-modifier = der Zuschlag muss eine ganze Zahl sein
why-sides = die Zahl der Seiten muss eine ganze Zahl sein
why-count-range = wirf zwischen 1 und { $max } Würfel
why-sides-range = ein Würfel hat zwischen 2 und { $max } Seiten
why-modifier-size = der Zuschlag ist zu groß
