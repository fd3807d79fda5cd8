// A C workspace without gpc code: the extension must cost nothing here.
#include <stdio.h>

int main(void)
{
	printf("hello\n");
	return 0;
}
