# echo: English (the fallback)
nothing = nothing to echo; usage: /echo <text>
who = { $name }{ $handle }, { $platform } user { $user }, in chat { $chat }
topic = , topic { $topic }
guild = , guild { $guild }
