# dice: English (the fallback)
too-many = I roll at most { $max } dice at once.
not-a-roll = `{ $text }` is not a dice roll: { $why }. Write it like 2d6, d20 or 3d8+2.
why-no-d = there is no `d`
why-count = the number of dice must be a whole number
why-modifier = the modifier must be a whole number
why-sides = the number of sides must be a whole number
why-count-range = roll between 1 and { $max } dice
why-sides-range = a die has between 2 and { $max } sides
why-modifier-size = the modifier is too large
