# achievements: English (the fallback)
new = 🎉 New achievement: { $name } ({ $threshold } points)!
heading = Your achievements ({ $points } { $points ->
        [one] point
       *[other] points
    }):
unlocked = ✓ { $name } ({ $threshold } points), since { $day }
none = You have no achievements yet.
next = Next: { $name } ({ $threshold } points), { $missing } { $missing ->
        [one] point
       *[other] points
    } to go.
all = You have unlocked every achievement.
no-economy = Achievements are not available right now: economy did not answer ({ $why }).
achievement-pocket-money = Pocket Money
achievement-saver = Saver
achievement-four-digits = Four Digits
achievement-tycoon = Tycoon
